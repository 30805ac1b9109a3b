import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../../src/errors';
import {
  RawTensor,
  bf16BitsToF32,
  decodeSafetensors,
  encodeSafetensors,
  f16BitsToF32,
  f32ToBf16Bits,
  f32ToF16Bits,
  rawToTensor,
  readSafetensorsFile,
  tensorToRaw,
  toFloat32,
  writeSafetensorsFile,
} from '../../src/formats/safetensors';

/** A file from a header string and data bytes, assembled independently of the encoder. */
function fileBytes(header: string, data: ArrayLike<number> = []): Uint8Array {
  const headerBytes = Buffer.from(header, 'utf8');
  const out = new Uint8Array(8 + headerBytes.length + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, headerBytes.length, true); // low word; the high word stays 0
  out.set(headerBytes, 8);
  out.set(data, 8 + headerBytes.length);
  return out;
}

/** Little-endian bytes written with DataView, one setter call per element. */
function leBytes(byteLength: number, write: (view: DataView) => void): Uint8Array {
  const bytes = new Uint8Array(byteLength);
  write(new DataView(bytes.buffer));
  return bytes;
}

function headerOf(bytes: Uint8Array): { length: number; json: string } {
  const length = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { length, json: Buffer.from(bytes.subarray(8, 8 + length)).toString('utf8') };
}

function bitsOf(values: Float32Array): number[] {
  return Array.from(new Uint32Array(values.buffer, values.byteOffset, values.length));
}

/** The UserError `fn` throws (failing the test if it throws anything else or nothing). */
function userError(fn: () => unknown): UserError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    return err as UserError;
  }
  throw new Error('expected a UserError, nothing was thrown');
}

const pow2 = (e: number) => 2 ** e;

describe('golden files from the reference implementation', () => {
  // Byte strings from huggingface/safetensors' own tests (bindings/python/tests/test_simple.py
  // and safetensors/src/tensor.rs): what their writer produces.
  const zeros = (n: number) => new Array<number>(n).fill(0);

  test('one I32 tensor', () => {
    const want = fileBytes(
      '{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}    ',
      zeros(16),
    );
    expect(want[0]).toBe(0x40); // '@', as in their test
    const tensors = { test: { dtype: 'I32', shape: [2, 2], data: new Int32Array(4) } as RawTensor };
    expect(encodeSafetensors(tensors)).toEqual(want);
    expect(decodeSafetensors(want).tensors).toEqual(tensors);
  });

  test('I32 and F16: data ordered by descending alignment, header padded to 8', () => {
    const want = fileBytes(
      '{"test1":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]},' +
        '"test2":{"dtype":"F16","shape":[2,2],"data_offsets":[16,24]}}      ',
      zeros(24),
    );
    expect(want[0]).toBe(0x80);
    const test1: RawTensor = { dtype: 'I32', shape: [2, 2], data: new Int32Array(4) };
    const test2: RawTensor = { dtype: 'F16', shape: [2, 2], data: new Uint16Array(4) };
    expect(encodeSafetensors({ test1, test2 })).toEqual(want);
    expect(encodeSafetensors({ test2, test1 })).toEqual(want);
  });

  test('metadata comes first', () => {
    const want = fileBytes(
      '{"__metadata__":{"framework":"pt"},' +
        '"test1":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}} ',
      zeros(16),
    );
    expect(want[0]).toBe(0x60); // '`'
    const test1: RawTensor = { dtype: 'I32', shape: [2, 2], data: new Int32Array(4) };
    expect(encodeSafetensors({ test1 }, { framework: 'pt' })).toEqual(want);
    expect(decodeSafetensors(want).metadata).toEqual({ framework: 'pt' });
  });

  test('no tensors', () => {
    expect(Array.from(encodeSafetensors({}))).toEqual([
      8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32,
    ]);
    const withMetadata = [
      40, 0, 0, 0, 0, 0, 0, 0, 123, 34, 95, 95, 109, 101, 116, 97, 100, 97, 116, 97, 95, 95, 34, 58,
      123, 34, 102, 114, 97, 109, 101, 119, 111, 114, 107, 34, 58, 34, 112, 116, 34, 125, 125, 32,
      32, 32, 32, 32,
    ];
    expect(Array.from(encodeSafetensors({}, { framework: 'pt' }))).toEqual(withMetadata);
    expect(decodeSafetensors(Uint8Array.from(withMetadata))).toEqual({
      tensors: {},
      metadata: { framework: 'pt' },
    });
  });

  test('F32 values 0..5, with and without padding', () => {
    const dataBytes = [
      0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64,
    ];
    const data = Float32Array.of(0, 1, 2, 3, 4, 5);
    const unpadded = encodeSafetensors({ 'attn.0': { dtype: 'F32', shape: [1, 2, 3], data } });
    expect(unpadded[0]).toBe(64);
    expect(unpadded).toEqual(
      fileBytes('{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}', dataBytes),
    );
    const padded = encodeSafetensors({ attn0: { dtype: 'F32', shape: [1, 1, 2, 3], data } });
    expect(padded[0]).toBe(72);
    expect(padded).toEqual(
      fileBytes(
        '{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}       ',
        dataBytes,
      ),
    );
  });
});

describe('decoding a hand-built file', () => {
  // Every dtype, written element by element with DataView; offsets worked out by hand.
  const header = JSON.stringify({
    f64: { dtype: 'F64', shape: [2], data_offsets: [0, 16] },
    i64: { dtype: 'I64', shape: [2], data_offsets: [16, 32] },
    u64: { dtype: 'U64', shape: [1], data_offsets: [32, 40] },
    f32: { dtype: 'F32', shape: [2, 1], data_offsets: [40, 48] },
    i32: { dtype: 'I32', shape: [], data_offsets: [48, 52] },
    u32: { dtype: 'U32', shape: [1], data_offsets: [52, 56] },
    f16: { dtype: 'F16', shape: [3], data_offsets: [56, 62] },
    bf16: { dtype: 'BF16', shape: [1], data_offsets: [62, 64] },
    i16: { dtype: 'I16', shape: [1], data_offsets: [64, 66] },
    u16: { dtype: 'U16', shape: [1], data_offsets: [66, 68] },
    i8: { dtype: 'I8', shape: [2], data_offsets: [68, 70] },
    u8: { dtype: 'U8', shape: [1], data_offsets: [70, 71] },
    bool: { dtype: 'BOOL', shape: [2], data_offsets: [71, 73] },
    empty: { dtype: 'F32', shape: [0, 3], data_offsets: [73, 73] },
    __metadata__: { format: 'pt', note: 'é ✓' },
  });
  const data = leBytes(73, (v) => {
    v.setFloat64(0, Math.PI, true);
    v.setFloat64(8, -1e300, true);
    v.setBigInt64(16, -(2n ** 62n), true);
    v.setBigInt64(24, 7n, true);
    v.setBigUint64(32, 2n ** 64n - 1n, true);
    v.setFloat32(40, 1.5, true);
    v.setFloat32(44, -0.25, true);
    v.setInt32(48, -123456789, true);
    v.setUint32(52, 0xfffffffe, true);
    v.setUint16(56, 0x3c00, true); // 1
    v.setUint16(58, 0xc000, true); // -2
    v.setUint16(60, 0x3555, true); // 0.333251953125
    v.setUint16(62, 0x3f80, true); // bf16 1
    v.setInt16(64, -32768, true);
    v.setUint16(66, 65535, true);
    v.setInt8(68, -128);
    v.setInt8(69, 127);
    v.setUint8(70, 255);
    v.setUint8(71, 1);
    v.setUint8(72, 0);
  });
  // Padded so that the data starts unaligned (3 mod 8): readers must not rely on alignment.
  let padded = header;
  while ((8 + Buffer.byteLength(padded)) % 8 !== 3) padded += ' ';
  const bytes = fileBytes(padded, data);

  test('values, shapes and metadata', () => {
    const { tensors, metadata } = decodeSafetensors(bytes, 'hand.safetensors');
    expect(metadata).toEqual({ format: 'pt', note: 'é ✓' });
    const names = Object.keys(JSON.parse(header)).filter((key) => key !== '__metadata__');
    expect(Object.keys(tensors).sort()).toEqual(names.sort());
    expect(tensors.f64).toEqual({
      dtype: 'F64',
      shape: [2],
      data: Float64Array.of(Math.PI, -1e300),
    });
    expect(tensors.i64).toEqual({
      dtype: 'I64',
      shape: [2],
      data: BigInt64Array.of(-(2n ** 62n), 7n),
    });
    expect(tensors.u64!.data).toEqual(BigUint64Array.of(2n ** 64n - 1n));
    expect(tensors.f32).toEqual({ dtype: 'F32', shape: [2, 1], data: Float32Array.of(1.5, -0.25) });
    expect(tensors.i32).toEqual({ dtype: 'I32', shape: [], data: Int32Array.of(-123456789) });
    expect(tensors.u32!.data).toEqual(Uint32Array.of(0xfffffffe));
    expect(tensors.f16).toEqual({
      dtype: 'F16',
      shape: [3],
      data: Uint16Array.of(0x3c00, 0xc000, 0x3555),
    });
    expect(Array.from(toFloat32(tensors.f16!))).toEqual([1, -2, 0.333251953125]);
    expect(Array.from(toFloat32(tensors.bf16!))).toEqual([1]);
    expect(tensors.i16!.data).toEqual(Int16Array.of(-32768));
    expect(tensors.u16!.data).toEqual(Uint16Array.of(65535));
    expect(tensors.i8!.data).toEqual(Int8Array.of(-128, 127));
    expect(tensors.u8).toEqual({ dtype: 'U8', shape: [1], data: Uint8Array.of(255) });
    expect(tensors.bool).toEqual({ dtype: 'BOOL', shape: [2], data: Uint8Array.of(1, 0) });
    expect(tensors.empty).toEqual({ dtype: 'F32', shape: [0, 3], data: new Float32Array(0) });
  });

  test('arrays are aligned copies, whatever the input buffer', () => {
    // The whole file at an odd offset of a larger buffer, and as a pooled Node Buffer.
    const shifted = new Uint8Array(bytes.length + 3);
    shifted.set(bytes, 1);
    for (const input of [shifted.subarray(1, 1 + bytes.length), Buffer.from(bytes)]) {
      const { tensors } = decodeSafetensors(input);
      for (const t of Object.values(tensors)) {
        expect(t.data.byteOffset).toBe(0);
        expect(t.data.buffer).not.toBe(input.buffer);
      }
      input.fill(0); // the decoded values must not change with the input
      expect(Array.from(tensors.f64!.data as Float64Array)).toEqual([Math.PI, -1e300]);
    }
  });

  test('encoding the decoded tensors gives the same tensors back', () => {
    const decoded = decodeSafetensors(bytes);
    expect(decodeSafetensors(encodeSafetensors(decoded.tensors, decoded.metadata))).toEqual(
      decoded,
    );
  });
});

describe('round trips', () => {
  const roundTrip = (tensors: Record<string, RawTensor>, metadata?: Record<string, string>) =>
    decodeSafetensors(encodeSafetensors(tensors, metadata));

  test('F32 special values bit for bit', () => {
    const bits = Uint32Array.of(
      0x00000000, // 0
      0x80000000, // -0
      0x7f800000, // Infinity
      0xff800000, // -Infinity
      0x7fc00000, // NaN
      0xffc00001, // negative NaN with a payload
      0x7f800001, // signalling NaN
      0x00000001, // smallest denormal
      0x007fffff, // largest denormal
      0x7f7fffff, // largest finite
      0x3f800000, // 1
    );
    const data = new Float32Array(bits.buffer);
    const out = roundTrip({ x: { dtype: 'F32', shape: [bits.length], data } }).tensors.x!;
    expect(out.dtype).toBe('F32');
    expect(bitsOf(out.data as Float32Array)).toEqual(Array.from(bits));
  });

  test('I32, U8 and BOOL', () => {
    const tensors: Record<string, RawTensor> = {
      i: { dtype: 'I32', shape: [2, 2], data: Int32Array.of(-0x80000000, 0x7fffffff, 0, -1) },
      u: { dtype: 'U8', shape: [4], data: Uint8Array.of(0, 1, 128, 255) },
      b: { dtype: 'BOOL', shape: [3], data: Uint8Array.of(1, 0, 1) },
      scalar: { dtype: 'I32', shape: [], data: Int32Array.of(42) },
    };
    expect(roundTrip(tensors).tensors).toEqual(tensors);
  });

  test('metadata', () => {
    const metadata = { format: 'pt', '': 'empty key', '10': 'ten', '2': 'two', note: 'ü\n"\\' };
    const t = { x: { dtype: 'U8', shape: [1], data: Uint8Array.of(7) } as RawTensor };
    expect(roundTrip(t, metadata).metadata).toEqual(metadata);
    expect(roundTrip(t).metadata).toEqual({});
  });

  test('odd names, including ones JavaScript objects treat specially', () => {
    const names = ['10', '2', '__proto__', 'constructor', 'a.b/c d', 'ü', '😀', '\uffff'];
    const tensors: Record<string, RawTensor> = {};
    names.forEach((name, i) =>
      Object.defineProperty(tensors, name, {
        value: { dtype: 'I32', shape: [1], data: Int32Array.of(i) },
        enumerable: true,
      }),
    );
    const out = roundTrip(tensors).tensors;
    expect(Object.keys(out).sort()).toEqual([...names].sort());
    names.forEach((name, i) => expect(Array.from(out[name]!.data as Int32Array)).toEqual([i]));
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
  });
});

describe('deterministic output', () => {
  const a: RawTensor = { dtype: 'F16', shape: [1], data: Uint16Array.of(0x3c00) };
  const b: RawTensor = { dtype: 'F32', shape: [2], data: Float32Array.of(1, 2) };
  const c: RawTensor = { dtype: 'F64', shape: [1], data: Float64Array.of(3) };
  const d: RawTensor = { dtype: 'F32', shape: [1], data: Float32Array.of(4) };

  test('same input, same bytes, whatever the key order', () => {
    const one = encodeSafetensors({ a, b, c, d }, { x: '1', y: '2' });
    expect(encodeSafetensors({ a, b, c, d }, { x: '1', y: '2' })).toEqual(one);
    expect(encodeSafetensors({ d, c, b, a }, { y: '2', x: '1' })).toEqual(one);
  });

  test('header lists tensors in data order: wider dtypes first, then by name', () => {
    const { length, json } = headerOf(encodeSafetensors({ a, b, c, d }, { y: '2', x: '1' }));
    const want =
      '{"__metadata__":{"x":"1","y":"2"},' +
      '"c":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},' +
      '"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},' +
      '"d":{"dtype":"F32","shape":[1],"data_offsets":[16,20]},' +
      '"a":{"dtype":"F16","shape":[1],"data_offsets":[20,22]}}';
    expect(length).toBe(Math.ceil(want.length / 8) * 8);
    expect(json).toBe(want.padEnd(length, ' '));
  });

  test('integer-like names stay in string order', () => {
    const t = (v: number): RawTensor => ({ dtype: 'I32', shape: [1], data: Int32Array.of(v) });
    const { json } = headerOf(encodeSafetensors({ '2': t(2), '10': t(10), b: t(0), A: t(1) }));
    const order = ['"10"', '"2"', '"A"', '"b"'].map((key) => json.indexOf(key));
    expect([...order].sort((x, y) => x - y)).toEqual(order);
  });
});

describe('half precision', () => {
  test('F16 encoding of known values', () => {
    const cases: [number, number][] = [
      [1, 0x3c00],
      [-2, 0xc000],
      [65504, 0x7bff], // largest finite
      [0.1, 0x2e66],
      [pow2(-24), 0x0001], // smallest subnormal
      [1023 * pow2(-24), 0x03ff], // largest subnormal
      [pow2(-14), 0x0400], // smallest normal
      [0, 0x0000],
      [-0, 0x8000],
      [65520, 0x7c00], // halfway to 2^16: ties to even overflows to Infinity
      [1e5, 0x7c00],
      [Infinity, 0x7c00],
      [-Infinity, 0xfc00],
      [-1e9, 0xfc00],
      [pow2(-25), 0x0000], // halfway to the smallest subnormal: ties to even, zero
      [-pow2(-25), 0x8000],
      [1.5 * pow2(-25), 0x0001],
      [pow2(-26), 0x0000],
      [1e-30, 0x0000],
      [1 + pow2(-11), 0x3c00], // ties to even, down
      [1 + 3 * pow2(-11), 0x3c02], // ties to even, up
      [1 + pow2(-11) + pow2(-20), 0x3c01], // just above the tie
      [1023.5 * pow2(-24), 0x0400], // subnormal rounding up into the smallest normal
      [65519, 0x7bff], // just below the overflow tie
      [1 / 3, 0x3555],
    ];
    const got = Array.from(f32ToF16Bits(cases.map(([value]) => value)));
    expect(got.map((bits) => bits.toString(16))).toEqual(
      cases.map(([, bits]) => bits.toString(16)),
    );
  });

  test('F16 NaN stays NaN', () => {
    // A plain NaN, and a signalling NaN whose payload would vanish in the shift to 10 bits.
    const nans = new Float32Array(Uint32Array.of(0x7fc00000, 0x7f800001, 0xff800001).buffer);
    for (const bits of [...f32ToF16Bits([NaN]), ...f32ToF16Bits(nans)]) {
      expect(bits & 0x7c00).toBe(0x7c00);
      expect(bits & 0x3ff).not.toBe(0);
    }
    expect(f32ToF16Bits(nans)[2]! & 0x8000).toBe(0x8000);
    expect(f16BitsToF32([0x7e00, 0xfc01])[0]).toBeNaN();
  });

  test('F16 decoding of known values', () => {
    const got = f16BitsToF32([
      0x3c00, 0xc000, 0x7bff, 0x0001, 0x03ff, 0x0400, 0x7c00, 0xfc00, 0x3555,
    ]);
    expect(Array.from(got)).toEqual([
      1,
      -2,
      65504,
      pow2(-24),
      1023 * pow2(-24),
      pow2(-14),
      Infinity,
      -Infinity,
      0.333251953125,
    ]);
    expect(Object.is(f16BitsToF32([0x8000])[0], -0)).toBe(true);
  });

  test('every non-NaN F16 pattern survives decode then encode', () => {
    const patterns = Array.from({ length: 0x10000 }, (_, i) => i).filter(
      (h) => (h & 0x7c00) !== 0x7c00 || (h & 0x3ff) === 0,
    );
    expect(Array.from(f32ToF16Bits(f16BitsToF32(patterns)))).toEqual(patterns);
  });

  test('F16 encoding picks the nearest half, ties to even (brute-force oracle)', () => {
    // Every non-negative finite half, ascending like its bit pattern.
    const halves = f16BitsToF32(Array.from({ length: 0x7c00 }, (_, i) => i));
    const nearest = (x: number): number => {
      if (x >= 65520) return 0x7c00; // halfway past the largest finite half and beyond
      let lo = 0;
      let hi = halves.length - 1;
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if (halves[mid]! <= x) lo = mid;
        else hi = mid;
      }
      const below = x - halves[lo]!;
      const above = halves[hi]! - x;
      if (below !== above) return below < above ? lo : hi;
      return lo % 2 === 0 ? lo : hi;
    };
    // Exact ties (every midpoint between neighbouring halves) and random magnitudes.
    const ties = Array.from(
      { length: halves.length - 1 },
      (_, i) => (halves[i]! + halves[i + 1]!) / 2,
    );
    let seed = 12345;
    const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    const randoms = Array.from({ length: 20000 }, () => 2 ** (random() * 46 - 28));
    const values = Float32Array.from([...ties, ...randoms]);
    expect(Array.from(values)).toEqual([...ties, ...randoms].map(Math.fround));
    const got = f32ToF16Bits(values);
    const negated = f32ToF16Bits(values.map((v) => -v));
    const wrong: string[] = [];
    values.forEach((x, i) => {
      const want = nearest(x);
      if (got[i] !== want || negated[i] !== (want | 0x8000))
        wrong.push(`${x}: got ${got[i]!.toString(16)}, want ${want.toString(16)}`);
    });
    expect(wrong).toEqual([]);
  });

  test('BF16', () => {
    expect(Array.from(bf16BitsToF32([0x3f80, 0xc000, 0x7f80, 0x0001]))).toEqual([
      1,
      -2,
      Infinity,
      pow2(-133),
    ]);
    expect(
      Array.from(f32ToBf16Bits([1, -2, 1 + pow2(-8), 1 + 3 * pow2(-8), 3.4028234663852886e38])),
    ).toEqual([0x3f80, 0xc000, 0x3f80, 0x3f82, 0x7f80]);
    const [nan] = f32ToBf16Bits(new Float32Array(Uint32Array.of(0x7f800001).buffer));
    expect(bf16BitsToF32([nan!])[0]).toBeNaN();
  });

  test('F16 tensors round trip through the file', () => {
    const data = f32ToF16Bits([0.5, -65504, pow2(-24)]);
    const out = decodeSafetensors(encodeSafetensors({ h: { dtype: 'F16', shape: [3], data } }));
    expect(Array.from(toFloat32(out.tensors.h!))).toEqual([0.5, -65504, pow2(-24)]);
  });
});

describe('malformed files', () => {
  const file = 'weights.safetensors';
  const name = 'embedder.down1.conv1.kernel';
  const entry = (dtype: string, shape: unknown, offsets: unknown) =>
    JSON.stringify({ dtype, shape, data_offsets: offsets });

  const cases: [string, Uint8Array, RegExp][] = [
    ['shorter than 8 bytes', Uint8Array.of(1, 2, 3), /shorter than the 8-byte header length/],
    ['empty', new Uint8Array(0), /0 bytes/],
    [
      'header length past the end',
      fileBytes('{}').map((b, i) => (i === 1 ? 1 : b)),
      /header length 258 runs past the end/,
    ],
    [
      'header length of 2^64 - 1',
      fileBytes('{}').map((b, i) => (i < 8 ? 255 : b)),
      /header length 18446744073709551615/,
    ],
    [
      'invalid UTF-8',
      fileBytes('{"ab":1}').map((b, i) => (i === 10 ? 0xff : b)), // 'a' becomes 0xff
      /not valid UTF-8/,
    ],
    ['invalid JSON', fileBytes('{"a": '), /header is not valid JSON/],
    ['JSON that is not an object', fileBytes('[1, 2]'), /header is not a JSON object/],
    [
      'an entry that is not an object',
      fileBytes(`{"${name}": 3}`),
      new RegExp(`tensor '${name}': header entry is not an object`),
    ],
    [
      'unknown dtype',
      fileBytes(`{"${name}": ${entry('F8_E4M3', [1], [0, 1])}}`, [0]),
      new RegExp(`tensor '${name}' has unsupported dtype 'F8_E4M3'`),
    ],
    [
      'missing dtype',
      fileBytes(`{"${name}": {"shape": [1], "data_offsets": [0, 4]}}`, [0, 0, 0, 0]),
      /unsupported dtype 'undefined'/,
    ],
    [
      'negative shape',
      fileBytes(`{"${name}": ${entry('F32', [-1], [0, 4])}}`, [0, 0, 0, 0]),
      /shape \[-1\] is not a list of non-negative integers/,
    ],
    [
      'fractional shape',
      fileBytes(`{"${name}": ${entry('F32', [1.5], [0, 4])}}`, [0, 0, 0, 0]),
      /shape \[1.5\]/,
    ],
    [
      'one offset',
      fileBytes(`{"${name}": ${entry('F32', [1], [4])}}`, [0, 0, 0, 0]),
      /data_offsets \[4\] is not a pair/,
    ],
    [
      'offsets reversed',
      fileBytes(`{"${name}": ${entry('F32', [1], [4, 0])}}`, [0, 0, 0, 0]),
      /data_offsets \[4,0\] end before they begin/,
    ],
    [
      'size mismatch',
      fileBytes(`{"${name}": ${entry('F32', [3, 3], [0, 32])}}`, new Array(32).fill(0)),
      new RegExp(
        `^${file}: tensor '${name}' has 32 bytes \\(data_offsets \\[0,32\\]\\) but shape \\[3,3\\] of F32 needs 36$`,
      ),
    ],
    [
      'offsets out of range',
      fileBytes(`{"${name}": ${entry('F32', [3, 3], [0, 36])}}`, new Array(32).fill(0)),
      /data_offsets \[0,36\] run past the end of the data \(32 bytes\)/,
    ],
    [
      'overlap',
      fileBytes(
        `{"a": ${entry('F32', [2], [0, 8])}, "${name}": ${entry('F32', [2], [4, 12])}}`,
        new Array(12).fill(0),
      ),
      new RegExp(`tensor '${name}': data_offsets \\[4,12\\] overlap tensor 'a' \\[0,8\\]`),
    ],
    [
      'duplicate offsets',
      fileBytes(
        `{"a": ${entry('F32', [2], [0, 8])}, "${name}": ${entry('F32', [2], [0, 8])}}`,
        new Array(8).fill(0),
      ),
      /overlap/,
    ],
    [
      'gap between tensors',
      fileBytes(
        `{"a": ${entry('F32', [2], [0, 8])}, "${name}": ${entry('F32', [2], [12, 20])}}`,
        new Array(20).fill(0),
      ),
      new RegExp(`tensor '${name}': data_offsets \\[12,20\\] leave 4 unused bytes before it`),
    ],
    [
      'gap at the start',
      fileBytes(`{"${name}": ${entry('F32', [2], [4, 12])}}`, new Array(12).fill(0)),
      /leave 4 unused bytes before it \(at 0\)/,
    ],
    [
      'bytes after the last tensor',
      fileBytes(`{"${name}": ${entry('F32', [2], [0, 8])}}`, new Array(12).fill(0)),
      new RegExp(`4 bytes after tensor '${name}' \\(the last, ending at 8\\) belong to no tensor`),
    ],
    ['data but no tensors', fileBytes('{}', [1, 2]), /2 bytes of data but no tensors/],
    [
      'metadata not an object',
      fileBytes('{"__metadata__": [1]}'),
      /__metadata__ is not a JSON object/,
    ],
    [
      'metadata value not a string',
      fileBytes('{"__metadata__": {"epoch": 3}}'),
      /__metadata__ entry 'epoch' is a number, not a string/,
    ],
    [
      'a name with a newline',
      fileBytes(`{"bad\\nname": 3}`),
      /tensor 'bad\\u000aname': header entry is not an object/,
    ],
  ];

  test.each(cases)('%s', (_, bytes, message) => {
    const err = userError(() => decodeSafetensors(bytes, file));
    expect(err.message).toMatch(message);
    expect(err.message.startsWith(`${file}: `)).toBe(true);
    expect(err.message).not.toMatch(/[\n\r]/);
    // Whenever the file has the tensor, the message names it.
    if (Buffer.from(bytes).includes(name)) expect(err.message).toContain(`tensor '${name}'`);
  });

  test('the source defaults to <buffer>', () => {
    expect(userError(() => decodeSafetensors(new Uint8Array(2))).message).toMatch(/^<buffer>: /);
  });
});

describe('encoding bad tensors is a programming error', () => {
  const bad: [string, Record<string, RawTensor>, RegExp][] = [
    [
      'wrong array type',
      { x: { dtype: 'F32', shape: [1], data: Int32Array.of(1) } },
      /F32 data must be a Float32Array, got Int32Array/,
    ],
    [
      'length mismatch',
      { x: { dtype: 'I32', shape: [2, 2], data: Int32Array.of(1) } },
      /shape \[2,2\] needs 4 elements, got 1/,
    ],
    ['bad shape', { x: { dtype: 'I32', shape: [-1], data: Int32Array.of(1) } }, /bad shape/],
    [
      'unknown dtype',
      { x: { dtype: 'F8' as 'U8', shape: [1], data: Uint8Array.of(1) } },
      /unknown dtype 'F8'/,
    ],
    [
      'BOOL not 0/1',
      { x: { dtype: 'BOOL', shape: [1], data: Uint8Array.of(2) } },
      /BOOL data must be 0 or 1/,
    ],
    [
      'reserved name',
      { __metadata__: { dtype: 'U8', shape: [1], data: Uint8Array.of(1) } },
      /reserved/,
    ],
  ];
  test.each(bad)('%s', (_, tensors, message) => {
    let error: unknown;
    try {
      encodeSafetensors(tensors);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(UserError);
    expect((error as Error).message).toMatch(message);
  });

  test('metadata values must be strings', () => {
    expect(() => encodeSafetensors({}, { epoch: 3 as unknown as string })).toThrow(
      /metadata 'epoch' must be a string/,
    );
  });
});

describe('files', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'safetensors-test-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const tensors: Record<string, RawTensor> = {
    w: { dtype: 'F32', shape: [2], data: Float32Array.of(0.5, -1) },
  };

  test('write then read; the temporary file is gone', async () => {
    const file = path.join(dir, 'model.safetensors');
    await writeSafetensorsFile(file, tensors, { step: '10' });
    expect(fs.readdirSync(dir)).toEqual(['model.safetensors']);
    expect(new Uint8Array(fs.readFileSync(file))).toEqual(
      encodeSafetensors(tensors, { step: '10' }),
    );
    expect(await readSafetensorsFile(file)).toEqual({ tensors, metadata: { step: '10' } });
  });

  test('an existing file is replaced', async () => {
    const file = path.join(dir, 'model.safetensors');
    fs.writeFileSync(file, 'old contents, longer than the new file will be '.repeat(20));
    await writeSafetensorsFile(file, tensors);
    expect((await readSafetensorsFile(file)).tensors).toEqual(tensors);
    expect(fs.readdirSync(dir)).toEqual(['model.safetensors']);
  });

  test('a missing directory: UserError naming the path, nothing written', async () => {
    const file = path.join(dir, 'missing', 'model.safetensors');
    const err = await writeSafetensorsFile(file, tensors).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toBe(
      `${file}: cannot write: no such directory ${path.dirname(file)}`,
    );
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  test('a failed rename leaves no temporary file behind', async () => {
    // The target is a non-empty directory: the temporary file is written, the rename fails.
    const file = path.join(dir, 'model.safetensors');
    fs.mkdirSync(file);
    fs.writeFileSync(path.join(file, 'keep'), 'x');
    const err = await writeSafetensorsFile(file, tensors).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message.startsWith(`${file}: is a directory`)).toBe(true);
    expect((err as Error).message).not.toMatch(/\n/);
    expect(fs.readdirSync(dir)).toEqual(['model.safetensors']);
    expect(fs.readdirSync(file)).toEqual(['keep']);
  });

  test('a bad tensor fails before any file is created', async () => {
    const file = path.join(dir, 'model.safetensors');
    const bad = { x: { dtype: 'F32', shape: [3], data: Float32Array.of(1) } as RawTensor };
    await expect(writeSafetensorsFile(file, bad)).rejects.toThrow(/needs 3 elements/);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  test('reading: missing file, directory, corrupt file', async () => {
    const missing = path.join(dir, 'nope.safetensors');
    await expect(readSafetensorsFile(missing)).rejects.toThrow(
      new UserError(`${missing}: no such file`),
    );
    await expect(readSafetensorsFile(dir)).rejects.toThrow(UserError);
    await expect(readSafetensorsFile(dir)).rejects.toThrow(`${dir}: is a directory`);
    const corrupt = path.join(dir, 'corrupt.safetensors');
    fs.writeFileSync(corrupt, 'hello');
    await expect(readSafetensorsFile(corrupt)).rejects.toThrow(
      `${corrupt}: not a safetensors file`,
    );
  });
});

describe('tfjs', () => {
  beforeAll(async () => {
    tf.env().set('PROD', true); // no "you are running in Node" console banner
    await tf.setBackend('cpu');
  });

  test('tensorToRaw copies float32, int32 and bool tensors', () => {
    const f = tf.tensor2d([[1.5, -2, 0.1]], [1, 3]);
    const raw = tensorToRaw(f);
    expect(raw).toEqual({ dtype: 'F32', shape: [1, 3], data: Float32Array.of(1.5, -2, 0.1) });
    (raw.data as Float32Array)[0] = 99; // a copy: the tensor keeps its values
    expect(Array.from(f.dataSync())).toEqual(Array.from(Float32Array.of(1.5, -2, 0.1)));
    expect(tensorToRaw(tf.tensor1d([3, -4], 'int32'))).toEqual({
      dtype: 'I32',
      shape: [2],
      data: Int32Array.of(3, -4),
    });
    expect(tensorToRaw(tf.tensor1d([true, false, true], 'bool'))).toEqual({
      dtype: 'BOOL',
      shape: [3],
      data: Uint8Array.of(1, 0, 1),
    });
    expect(tensorToRaw(tf.scalar(1), 'F16')).toEqual({
      dtype: 'F16',
      shape: [],
      data: Uint16Array.of(0x3c00),
    });
    expect(tensorToRaw(tf.scalar(1), 'BF16')).toEqual({
      dtype: 'BF16',
      shape: [],
      data: Uint16Array.of(0x3f80),
    });
    expect(() => tensorToRaw(tf.complex([1], [2]))).toThrow(/cannot store a complex64 tensor/);
  });

  test('rawToTensor converts every dtype', () => {
    const check = (raw: RawTensor, dtype: string, values: number[]) => {
      const t = rawToTensor(raw);
      expect([t.dtype, t.shape, Array.from(t.dataSync())]).toEqual([dtype, raw.shape, values]);
      t.dispose();
    };
    check({ dtype: 'F32', shape: [2], data: Float32Array.of(1, -0.5) }, 'float32', [1, -0.5]);
    check(
      { dtype: 'F16', shape: [2, 1], data: Uint16Array.of(0x3c00, 0xc000) },
      'float32',
      [1, -2],
    );
    check({ dtype: 'BF16', shape: [1], data: Uint16Array.of(0x3f80) }, 'float32', [1]);
    check({ dtype: 'F64', shape: [1], data: Float64Array.of(0.25) }, 'float32', [0.25]);
    check({ dtype: 'I64', shape: [2], data: BigInt64Array.of(-5n, 2n ** 31n - 1n) }, 'int32', [
      -5,
      2 ** 31 - 1,
    ]);
    check({ dtype: 'U8', shape: [2], data: Uint8Array.of(0, 255) }, 'int32', [0, 255]);
    check({ dtype: 'I8', shape: [1], data: Int8Array.of(-128) }, 'int32', [-128]);
    check({ dtype: 'BOOL', shape: [2], data: Uint8Array.of(0, 1) }, 'bool', [0, 1]);
    check({ dtype: 'I32', shape: [], data: Int32Array.of(7) }, 'int32', [7]);
  });

  test('integers outside int32 are a UserError naming the tensor', () => {
    const raw: RawTensor = { dtype: 'I64', shape: [1], data: BigInt64Array.of(2n ** 40n) };
    expect(() => rawToTensor(raw, "w.safetensors: tensor 'step'")).toThrow(
      new UserError(
        "w.safetensors: tensor 'step': I64 value 1099511627776 does not fit in tfjs's int32",
      ),
    );
  });

  test('tfjs tensors survive a trip through the file', () => {
    const originals = {
      'generator.conv.kernel': tf.randomNormal([3, 3, 2, 4], 0, 1, 'float32', 7),
      'generator.step': tf.scalar(12, 'int32'),
      mask: tf.tensor2d([[true, false]], [1, 2], 'bool'),
    };
    const raws: Record<string, RawTensor> = {};
    for (const [name, t] of Object.entries(originals)) raws[name] = tensorToRaw(t);
    const decoded = decodeSafetensors(encodeSafetensors(raws)).tensors;
    for (const [name, t] of Object.entries(originals)) {
      const back = rawToTensor(decoded[name]!);
      expect(back.dtype).toBe(t.dtype);
      expect(back.shape).toEqual(t.shape);
      expect(Array.from(back.dataSync())).toEqual(Array.from(t.dataSync()));
    }
  });
});
