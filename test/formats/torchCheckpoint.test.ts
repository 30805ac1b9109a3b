import { UserError } from '../../src/errors';
import { f32ToF16Bits, type RawTensor } from '../../src/formats/safetensors';
import { readTorchCheckpoint, torchLayout } from '../../src/formats/torchCheckpoint';
import {
  Call,
  Dict,
  Global,
  Storage,
  Tensor,
  Tuple,
  buildLegacyTorchFile,
  buildTorchZip,
  contiguousStride,
  pickle,
  stateDict,
  storage,
  tensor,
  type PyValue,
} from '../helpers/torchPickle';

const SOURCE = 'weights/model.pth';

function read(bytes: Uint8Array, source = SOURCE): Record<string, RawTensor> {
  return readTorchCheckpoint(bytes, source).tensors;
}

/** The UserError `fn` throws; it must be one line starting with the file name. */
function userError(fn: () => unknown, source = SOURCE): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    const { message } = err as UserError;
    expect(message.startsWith(`${source}: `)).toBe(true);
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error('expected a UserError, nothing was thrown');
}

/** A storage holding exactly these float32 bit patterns (NaN payloads and -0 included). */
function floatBits(values: Float32Array): Storage {
  return new Storage('FloatStorage', new Uint8Array(values.buffer.slice(0)));
}

function bits(data: RawTensor['data']): number[] {
  return Array.from(new Uint32Array(data.buffer, data.byteOffset, data.byteLength / 4));
}

const iota = (n: number, scale = 1) => Float32Array.from({ length: n }, (_, i) => i * scale);

/** The two torch.save layouts, for tests that hold for both. */
const LAYOUTS: [string, (root: Parameters<typeof buildTorchZip>[0]) => Uint8Array][] = [
  ['zip', (root) => buildTorchZip(root)],
  ['legacy', (root) => buildLegacyTorchFile(root)],
];

describe('the test pickler', () => {
  test('writes what CPython 3.11 pickle (protocol 2) writes for a torch state dict', () => {
    // Generated once with Python 3.11: stub torch / torch._utils modules whose tensors reduce to
    // _rebuild_tensor_v2 as PyTorch's do, and torch.save's persistent_id, pickled with
    // pickle.Pickler(f, protocol=2): an OrderedDict w=[2,3] view, wt=its transpose, b=[3] at
    // offset 1 of a second storage, n=a LongStorage scalar, _metadata {'': 1, 'conv': 2}.
    const python =
      '800263636f6c6c656374696f6e730a4f726465726564446963740a71002952710128580100000077710263' +
      '746f7263682e5f7574696c730a5f72656275696c645f74656e736f725f76320a710328285807000000737' +
      '46f72616765710463746f7263680a466c6f617453746f726167650a71055801000000307106580300000063' +
      '707571074b06747108514b004b024b038671094b034b0186710a8968002952710b74710c52710d58020000' +
      '007774710e6803282868046805680668074b0674710f514b004b034b028671104b014b038671118968002952' +
      '711274711352711458010000006271156803282868046805580100000031711668074b04747117514b014b03' +
      '8571184b018571198968002952711a74711b52711c58010000006e711d68032828680463746f7263680a4c6f' +
      '6e6753746f726167650a711e580100000032711f68074b03747120514b00292989680029527121747122527' +
      '123757d712458090000005f6d65746164617461712568002952712628580000000071277d7128580700000076' +
      '657273696f6e71294b01735804000000636f6e76712a7d712b68294b02737573622e';
    const a = storage('FloatStorage', iota(6));
    const b = storage('FloatStorage', iota(4));
    const l = storage('LongStorage', [1, 2, 3]);
    const order = [a, b, l];
    const root = stateDict(
      {
        w: new Tensor(a, 0, [2, 3], [3, 1]),
        wt: new Tensor(a, 0, [3, 2], [1, 3]),
        b: new Tensor(b, 1, [3], [1]),
        n: new Tensor(l, 0, [], []),
      },
      { '': 1, conv: 2 },
    );
    const pid = (s: Storage) =>
      new Tuple('storage', new Global('torch', s.cls), String(order.indexOf(s)), 'cpu', s.numel);
    expect(Buffer.from(pickle(root, pid)).toString('hex')).toBe(python);
  });
});

describe('readTorchCheckpoint', () => {
  test.each(LAYOUTS)('%s: every storage type is read back bit for bit', (_, build) => {
    const f32 = Float32Array.of(0.1, -0, 1.5e-45, Infinity, -3.25, NaN);
    new Uint32Array(f32.buffer)[5] = 0x7fc12345; // a NaN with a payload
    const root = {
      f32: new Tensor(floatBits(f32), 0, [2, 3], [3, 1]),
      f16: tensor('HalfStorage', [0x3c00, 0xc000, 0x7bff, 0x0001, 0x7e00], [5]),
      bf16: tensor('BFloat16Storage', [0x3f80, 0xc000, 0x7f80], [3]),
      f64: tensor('DoubleStorage', [Math.PI, -0, 1e300, 5e-324], [2, 2]),
      i64: tensor('LongStorage', [-(2n ** 63n), 2n ** 63n - 1n, -1n, 9007199254740993n], [4]),
      i32: tensor('IntStorage', [-2147483648, 2147483647, 0], [3]),
      i16: tensor('ShortStorage', [-32768, 32767, -1], [3]),
      i8: tensor('CharStorage', [-128, 127, -1], [3]),
      u8: tensor('ByteStorage', [0, 255, 128], [3]),
      bool: tensor('BoolStorage', [1, 0, 1], [3]),
    };
    const t = read(build(root));
    expect(Object.keys(t)).toEqual(Object.keys(root));
    expect(t.f32).toMatchObject({ dtype: 'F32', shape: [2, 3] });
    expect(bits(t.f32!.data)).toEqual(Array.from(new Uint32Array(f32.buffer)));
    expect(t.f16).toEqual({
      dtype: 'F16',
      shape: [5],
      data: Uint16Array.of(0x3c00, 0xc000, 0x7bff, 1, 0x7e00),
    });
    expect(t.bf16).toEqual({
      dtype: 'BF16',
      shape: [3],
      data: Uint16Array.of(0x3f80, 0xc000, 0x7f80),
    });
    expect(t.f64).toEqual({
      dtype: 'F64',
      shape: [2, 2],
      data: Float64Array.of(Math.PI, -0, 1e300, 5e-324),
    });
    expect(Object.is(t.f64!.data[1], -0)).toBe(true);
    expect(t.i64).toEqual({
      dtype: 'I64',
      shape: [4],
      data: BigInt64Array.of(-(2n ** 63n), 2n ** 63n - 1n, -1n, 9007199254740993n),
    });
    expect(t.i32).toEqual({
      dtype: 'I32',
      shape: [3],
      data: Int32Array.of(-2147483648, 2147483647, 0),
    });
    expect(t.i16).toEqual({ dtype: 'I16', shape: [3], data: Int16Array.of(-32768, 32767, -1) });
    expect(t.i8).toEqual({ dtype: 'I8', shape: [3], data: Int8Array.of(-128, 127, -1) });
    expect(t.u8).toEqual({ dtype: 'U8', shape: [3], data: Uint8Array.of(0, 255, 128) });
    expect(t.bool).toEqual({ dtype: 'BOOL', shape: [3], data: Uint8Array.of(1, 0, 1) });
  });

  test('half-precision values survive exactly', () => {
    const values = [0.5, -1.25, 65504, 6.1e-5, -0];
    const f16 = f32ToF16Bits(values);
    const t = read(buildTorchZip({ h: tensor('HalfStorage', f16, [5]) }));
    expect(t.h!.data).toEqual(f16);
  });

  test.each(LAYOUTS)('%s: strided views are gathered in row-major order', (_, build) => {
    const base = storage('FloatStorage', iota(6)); // [[0, 1, 2], [3, 4, 5]]
    const long = storage('FloatStorage', iota(10));
    const cube = storage('FloatStorage', iota(24)); // [2, 3, 4]
    const t = read(
      build({
        x: new Tensor(base, 0, [2, 3], [3, 1]),
        transposed: new Tensor(base, 0, [3, 2], [1, 3]),
        everyOther: new Tensor(long, 1, [3], [2]),
        offset: new Tensor(long, 4, [2, 2], [2, 1]),
        expanded: new Tensor(base, 3, [2, 3], [0, 1]), // torch.expand: stride 0
        permuted: new Tensor(cube, 0, [4, 2, 3], [1, 12, 4]), // permute(2, 0, 1)
        column: new Tensor(base, 1, [2, 1], [3, 1]),
        half: new Tensor(storage('HalfStorage', [1, 2, 3, 4, 5, 6]), 0, [3, 2], [1, 3]),
        long: new Tensor(storage('LongStorage', [1n, -2n, 3n, 2n ** 62n]), 0, [2, 2], [1, 2]),
        byte: new Tensor(storage('ByteStorage', [1, 2, 3, 4, 5, 6]), 0, [3, 2], [1, 3]),
      }),
    );
    expect(t.half!.data).toEqual(Uint16Array.of(1, 4, 2, 5, 3, 6));
    expect(t.long!.data).toEqual(BigInt64Array.of(1n, 3n, -2n, 2n ** 62n));
    expect(t.byte!.data).toEqual(Uint8Array.of(1, 4, 2, 5, 3, 6));
    expect(Array.from(t.x!.data as Float32Array)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(t.transposed!.shape).toEqual([3, 2]);
    expect(Array.from(t.transposed!.data as Float32Array)).toEqual([0, 3, 1, 4, 2, 5]);
    expect(Array.from(t.everyOther!.data as Float32Array)).toEqual([1, 3, 5]);
    expect(Array.from(t.offset!.data as Float32Array)).toEqual([4, 5, 6, 7]);
    expect(Array.from(t.expanded!.data as Float32Array)).toEqual([3, 4, 5, 3, 4, 5]);
    const permuted: number[] = [];
    for (let k = 0; k < 4; k++)
      for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) permuted.push(i * 12 + j * 4 + k);
    expect(Array.from(t.permuted!.data as Float32Array)).toEqual(permuted);
    expect(Array.from(t.column!.data as Float32Array)).toEqual([1, 4]);
  });

  test.each(LAYOUTS)('%s: tensors sharing a storage get arrays of their own', (_, build) => {
    const shared = storage('FloatStorage', iota(6));
    const t = read(
      build({ a: new Tensor(shared, 0, [6], [1]), b: new Tensor(shared, 0, [2, 3], [3, 1]) }),
    );
    (t.a!.data as Float32Array)[0] = 99;
    expect(Array.from(t.b!.data as Float32Array)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  test.each(LAYOUTS)('%s: scalars and empty tensors', (_, build) => {
    const t = read(
      build({
        'bn.num_batches_tracked': new Tensor(storage('LongStorage', [7]), 0, [], []),
        empty: new Tensor(storage('FloatStorage', []), 0, [0, 3], [3, 1]),
      }),
    );
    expect(t['bn.num_batches_tracked']).toEqual({
      dtype: 'I64',
      shape: [],
      data: BigInt64Array.of(7n),
    });
    expect(t.empty).toEqual({ dtype: 'F32', shape: [0, 3], data: new Float32Array(0) });
  });

  test('the state dict may sit under state_dict or model, beside other entries', () => {
    const weights = { 'fc.weight': tensor('FloatStorage', [1, 2], [1, 2]) };
    for (const key of ['state_dict', 'model']) {
      const root = new Dict([
        ['epoch', 300],
        ['lr', 0.5],
        ['args', new Call(new Global('argparse', 'Namespace'))], // inert, never resolved
        [key, stateDict(weights)],
        ['optimizer', new Dict([['state', new Dict([])]])],
      ]);
      for (const build of [buildTorchZip, buildLegacyTorchFile]) {
        expect(read(build(root))).toEqual({
          'fc.weight': { dtype: 'F32', shape: [1, 2], data: Float32Array.of(1, 2) },
        });
      }
    }
  });

  test('a Python 2 pickle: OrderedDict([[key, value], ...])', () => {
    const items = [
      ['w', tensor('FloatStorage', [1, 2], [2], 'v1')],
      ['b', tensor('FloatStorage', [3], [1], 'v1')],
    ];
    const root = new Call(new Global('collections', 'OrderedDict'), [items]);
    expect(read(buildLegacyTorchFile(root))).toEqual({
      w: { dtype: 'F32', shape: [2], data: Float32Array.of(1, 2) },
      b: { dtype: 'F32', shape: [1], data: Float32Array.of(3) },
    });
  });

  test('parameters and tensor subclasses read like tensors', () => {
    const s = storage('FloatStorage', [4, 5, 6]);
    // What Tensor.__reduce_ex__ writes for a tensor with Python attributes (PyTorch >= 1.13).
    const subclass = new Call(new Global('torch._tensor', '_rebuild_from_type_v2'), [
      new Global('torch._utils', '_rebuild_tensor_v2'),
      new Global('torch', 'Tensor'),
      new Tuple(s, 0, new Tuple(3), new Tuple(1), false, new Dict([], true)),
      new Dict([['note', 'kept by PyTorch, ignored here']]),
    ]);
    const t = read(
      buildTorchZip({ w: tensor('FloatStorage', [1, 2, 3], [3], 'parameter'), s: subclass }),
    );
    expect(t.w).toEqual({ dtype: 'F32', shape: [3], data: Float32Array.of(1, 2, 3) });
    expect(t.s).toEqual({ dtype: 'F32', shape: [3], data: Float32Array.of(4, 5, 6) });
  });

  test('zip variants: archive folder name, alignment, byteorder', () => {
    const root = () => ({
      w: tensor('FloatStorage', [0.1, -2.5, 3e-8], [3]),
      h: tensor('HalfStorage', [0x3c00, 0x8001], [2]),
      l: tensor('LongStorage', [-2n, 2n ** 40n], [2]),
      s: new Tensor(storage('FloatStorage', iota(6)), 0, [3, 2], [1, 3]),
    });
    const expected = read(buildTorchZip(root()));
    for (const options of [
      { archiveName: 'vgg19-dcbb9e9d' },
      { aligned: false },
      { byteorder: null },
      { byteorder: 'big' },
      { byteorder: 'big', aligned: false },
    ])
      expect(read(buildTorchZip(root(), options))).toEqual(expected);
    expect(Array.from(expected.w!.data as Float32Array)).toEqual(
      Array.from(Float32Array.of(0.1, -2.5, 3e-8)),
    );
    expect(expected.l!.data).toEqual(BigInt64Array.of(-2n, 2n ** 40n));
  });

  test('aligned zips put each storage at a multiple of 64 bytes, as PyTorch does', () => {
    const bytes = buildTorchZip({
      a: tensor('FloatStorage', iota(3), [3]),
      b: tensor('FloatStorage', iota(5), [5]),
    });
    const marker = (values: Float32Array) => Buffer.from(values.buffer);
    expect(Buffer.from(bytes).indexOf(marker(iota(3))) % 64).toBe(0);
    expect(Buffer.from(bytes).indexOf(marker(iota(5))) % 64).toBe(0);
  });

  test('legacy storage views (PyTorch < 0.4) read the viewed elements', () => {
    const root = storage('FloatStorage', iota(10));
    const view = storage('FloatStorage', iota(4)); // stands for elements [3, 7) of root
    const bytes = buildLegacyTorchFile(
      { v: new Tensor(view, 1, [2], [1], 'v1'), r: new Tensor(root, 0, [10], [1], 'v1') },
      { views: new Map([[view, { root, offset: 3 }]]) },
    );
    const t = read(bytes);
    expect(Array.from(t.v!.data as Float32Array)).toEqual([4, 5]);
    expect(Array.from(t.r!.data as Float32Array)).toEqual(Array.from(iota(10)));
  });

  test.each(LAYOUTS)('%s: a Node Buffer at an odd offset reads the same', (_, build) => {
    const root = () => ({
      w: tensor('FloatStorage', [1.5, -2, 3], [3]),
      l: tensor('LongStorage', [5n, -6n], [2]),
      t: new Tensor(storage('DoubleStorage', [1, 2, 3, 4, 5, 6]), 1, [2, 2], [1, 2]),
    });
    const bytes = build(root());
    const padded = Buffer.alloc(bytes.length + 1);
    padded.set(bytes, 1);
    const t = read(padded.subarray(1));
    expect(t).toEqual(read(bytes));
    expect(Array.from(t.t!.data as Float64Array)).toEqual([2, 4, 3, 5]);
  });

  test('torchLayout tells the layouts apart', () => {
    expect(torchLayout(buildTorchZip({}))).toBe('zip');
    expect(torchLayout(buildLegacyTorchFile({}))).toBe('legacy');
    expect(torchLayout(tarLike())).toBe('tar');
    expect(torchLayout(new Uint8Array(16))).toBeUndefined();
  });
});

describe('torchvision and VGG-Face naming', () => {
  /** A distinct, exactly representable value for each OIHW index. */
  const conv = (o: number, i: number) =>
    Float32Array.from({ length: o * i * 9 }, (_, k) => (k % 4096) / 64 - k / 2 ** 20);

  function vgg19(rebuild: 'v1' | 'v2') {
    return stateDict(
      {
        'features.0.weight': tensor('FloatStorage', conv(64, 3), [64, 3, 3, 3], rebuild),
        'features.0.bias': tensor('FloatStorage', iota(64, 0.5), [64], rebuild),
        'features.2.weight': tensor('FloatStorage', conv(64, 64), [64, 64, 3, 3], rebuild),
        'features.2.bias': tensor('FloatStorage', iota(64, -0.25), [64], rebuild),
        'classifier.6.bias': tensor('FloatStorage', iota(1000, 1 / 8), [1000], rebuild),
      },
      rebuild === 'v2' ? { '': 1, features: 1, 'features.0': 1, classifier: 1 } : undefined,
    );
  }

  function checkVgg(t: Record<string, RawTensor>) {
    expect(Object.keys(t)).toEqual([
      'features.0.weight',
      'features.0.bias',
      'features.2.weight',
      'features.2.bias',
      'classifier.6.bias',
    ]);
    expect(t['features.0.weight']).toMatchObject({ dtype: 'F32', shape: [64, 3, 3, 3] });
    expect(t['features.2.weight']!.shape).toEqual([64, 64, 3, 3]);
    expect(t['classifier.6.bias']!.shape).toEqual([1000]);
    // OIHW, row-major: element [o, i, h, w] at ((o * I + i) * 3 + h) * 3 + w.
    const w = t['features.2.weight']!.data as Float32Array;
    const expected = conv(64, 64);
    expect(w).toEqual(expected);
    expect(w[((5 * 64 + 7) * 3 + 2) * 3 + 1]).toBe(expected[5 * 576 + 7 * 9 + 2 * 3 + 1]);
    expect(t['features.0.weight']!.data).toEqual(conv(64, 3));
    expect(t['features.0.bias']!.data).toEqual(iota(64, 0.5));
  }

  test('vgg19-dcbb9e9d.pth as torchvision published it (legacy layout, _rebuild_tensor)', () => {
    checkVgg(read(buildLegacyTorchFile(vgg19('v1'))));
  });

  test('vgg19 re-saved by PyTorch >= 1.6 (zip named after the file stem)', () => {
    checkVgg(read(buildTorchZip(vgg19('v2'), { archiveName: 'vgg19-dcbb9e9d' })));
  });

  test('vgg_face_dag.pth (legacy layout, PyTorch 0.4)', () => {
    const t = read(
      buildLegacyTorchFile(
        stateDict({
          'conv1_1.weight': tensor('FloatStorage', conv(64, 3), [64, 3, 3, 3]),
          'conv1_1.bias': tensor('FloatStorage', iota(64), [64]),
          'fc8.bias': tensor('FloatStorage', iota(2622), [2622]),
        }),
      ),
    );
    expect(t['conv1_1.weight']).toEqual({ dtype: 'F32', shape: [64, 3, 3, 3], data: conv(64, 3) });
    expect(t['fc8.bias']!.shape).toEqual([2622]);
  });
});

/** A tar archive's first block: a file name, then 'ustar' at byte 257. */
function tarLike(): Uint8Array {
  const bytes = new Uint8Array(1024);
  bytes.set(Buffer.from('sys_info'), 0);
  bytes.set(Buffer.from('ustar'), 257);
  return bytes;
}

describe('malformed checkpoints are one-line UserErrors naming the file', () => {
  const good = () => ({
    a: tensor('FloatStorage', [1, 2, 3], [3]),
    b: tensor('FloatStorage', [4, 5], [2]),
  });

  test('not a checkpoint at all', () => {
    expect(userError(() => read(Uint8Array.from(Buffer.from('{"hello": 1}'))))).toContain(
      'not a PyTorch checkpoint',
    );
    expect(userError(() => read(new Uint8Array(0)))).toContain('not a PyTorch checkpoint');
  });

  test('the pre-0.1.10 tar layout and foreign pickles ask for a re-save', () => {
    const resave =
      'legacy PyTorch format: re-save with torch.save(obj, f) in PyTorch >= 1.6 or convert to .safetensors';
    expect(userError(() => read(tarLike()))).toContain(resave);
    expect(userError(() => read(pickle(new Dict([['a', 1]]))))).toContain(resave);
  });

  test('a truncated or corrupt zip', () => {
    const bytes = buildTorchZip(good());
    expect(userError(() => read(bytes.subarray(0, bytes.length - 30)))).toContain(
      'not a valid zip file',
    );
  });

  test('a zip without data.pkl', () => {
    const message = userError(() => read(buildTorchZip(good(), { omit: ['data.pkl'] })));
    expect(message).toContain('without <archive>/data.pkl');
    expect(message).toContain("'archive/data/0'");
  });

  test('a data.pkl that is not a pickle', () => {
    const bytes = buildTorchZip(good(), { replace: { 'data.pkl': Uint8Array.of(0x80, 2, 0xff) } });
    expect(userError(() => read(bytes))).toContain('archive/data.pkl is not a valid pickle');
    const truncated = pickle(stateDict(good()), () => null).subarray(0, 40);
    expect(
      userError(() => read(buildTorchZip(good(), { replace: { 'data.pkl': truncated } }))),
    ).toContain('is not a valid pickle');
  });

  test('a missing storage entry names the tensor', () => {
    expect(userError(() => read(buildTorchZip(good(), { omit: ['data/1'] })))).toBe(
      `${SOURCE}: missing storage entry 'archive/data/1' for tensor 'b'`,
    );
  });

  test('a storage too short for its tensor names the tensor', () => {
    const short = { w: new Tensor(storage('FloatStorage', iota(6)), 2, [2, 3], [3, 1]) };
    for (const build of [buildTorchZip, buildLegacyTorchFile])
      expect(userError(() => read(build(short)))).toContain(
        "storage too short for tensor 'w': shape [2,3] with stride [3,1] at offset 2 needs 8 elements",
      );
    const replaced = buildTorchZip(good(), { replace: { 'data/0': new Uint8Array(8) } });
    expect(userError(() => read(replaced))).toContain(
      "storage too short for tensor 'a': shape [3] with stride [1] at offset 0 needs 3 elements " +
        "of torch.FloatStorage, entry 'archive/data/0' has 2",
    );
  });

  test('an unsupported storage type names the tensor', () => {
    const root = { ...good(), z: tensor('ComplexFloatStorage', [1n, 2n], [2]) };
    for (const build of [buildTorchZip, buildLegacyTorchFile])
      expect(userError(() => read(build(root)))).toContain(
        "tensor 'z' has unsupported storage type torch.ComplexFloatStorage",
      );
  });

  test('unsupported globals are never run, and an error where a tensor should be', () => {
    const system = new Call(new Global('os', 'system'), ['echo pwned']);
    expect(userError(() => read(buildTorchZip({ ...good(), evil: system })))).toContain(
      "tensor 'evil' is a 'os.system' object (an unsupported pickle global), not a tensor",
    );
    const quantized = new Call(new Global('torch._utils', '_rebuild_qtensor'), [1, 2]);
    expect(userError(() => read(buildTorchZip(stateDict({ q: quantized }))))).toContain(
      "tensor 'q' is a 'torch._utils._rebuild_qtensor' object (an unsupported pickle global)",
    );
    const model = new Call(new Global('torchvision.models.vgg', 'VGG'));
    expect(userError(() => read(buildTorchZip(model)))).toContain(
      "the checkpoint holds a 'torchvision.models.vgg.VGG' object (an unsupported pickle global), not a dict of tensors",
    );
  });

  test('no state dict: the error lists the keys there are', () => {
    const root = new Dict([
      ['epoch', 3],
      ['model', new Call(new Global('torchvision.models.vgg', 'VGG'))],
    ]);
    expect(userError(() => read(buildTorchZip(root)))).toBe(
      `${SOURCE}: no tensors at the top level or under 'state_dict' or 'model' ` +
        "(top-level keys: 'epoch', 'model'); 'model' holds a 'torchvision.models.vgg.VGG' object " +
        '(an unsupported pickle global)',
    );
    expect(
      userError(() => read(buildTorchZip([tensor('FloatStorage', [1], [1])] as PyValue))),
    ).toContain('the checkpoint holds a list or tuple, not a dict of tensors');
  });

  test('a non-tensor in the state dict and malformed rebuild arguments', () => {
    expect(userError(() => read(buildTorchZip({ ...good(), step: 5 })))).toContain(
      "tensor 'step' is the number 5, not a tensor",
    );
    const bad = new Call(new Global('torch._utils', '_rebuild_tensor_v2'), [1, 2]);
    expect(userError(() => read(buildTorchZip(stateDict({ ...good(), bad }))))).toContain(
      "tensor 'bad': malformed torch._utils._rebuild_tensor_v2 arguments",
    );
    const negative = new Tensor(storage('FloatStorage', iota(4)), 0, [2], [-1]);
    expect(userError(() => read(buildTorchZip({ negative })))).toContain(
      "tensor 'negative': malformed",
    );
  });

  test('a foreign persistent id and a bad byteorder', () => {
    const pkl = pickle(stateDict(good()), () => new Tuple('blob', 1));
    expect(
      userError(() => read(buildTorchZip(good(), { replace: { 'data.pkl': pkl } }))),
    ).toContain("unsupported persistent id ('blob', 1): not a torch storage");
    expect(userError(() => read(buildTorchZip(good(), { byteorder: 'middle' })))).toContain(
      "archive/byteorder says 'middle', expected 'little' or 'big'",
    );
  });

  test('a truncated legacy file', () => {
    const bytes = buildLegacyTorchFile(good());
    expect(userError(() => read(bytes.subarray(0, bytes.length - 4)))).toContain(
      'truncated: storage',
    );
    expect(userError(() => read(bytes.subarray(0, 40)))).toContain('is not a valid pickle');
  });

  test('control characters in the file name stay escaped on one line', () => {
    const source = 'bad\nname.pth';
    const message = userError(() => read(new Uint8Array(4), source), 'bad\\u000aname.pth');
    expect(message).toContain('not a PyTorch checkpoint');
  });
});

// Keep the strides helper exercised: an explicit contiguous layout equals the default one.
test('contiguousStride is row-major', () => {
  expect(contiguousStride([2, 3, 4])).toEqual([12, 4, 1]);
  expect(contiguousStride([])).toEqual([]);
});
