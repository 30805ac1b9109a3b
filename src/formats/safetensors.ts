/**
 * The .safetensors weight format (Hugging Face), so checkpoints move between this package and
 * Python (`safetensors.torch.load_file` / `save_file`).
 *
 * Layout: an 8-byte little-endian unsigned header length N; N bytes of UTF-8 JSON
 * `{"__metadata__": {string: string}, "<name>": {"dtype", "shape", "data_offsets": [begin, end]}}`
 * padded with spaces; then the tensors' little-endian bytes back to back, offsets relative to the
 * end of the header.
 *
 * The reading and writing core works on plain typed arrays and needs no tfjs backend;
 * `tensorToRaw` / `rawToTensor` at the end bridge to tfjs.
 */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../errors';
import { readBytes, writeFileAtomically } from '../fileSystem';
import { printable, quote, setOwn } from '../oneLine';
import { elementCount, isIndex, isShape } from './shape';
import { Float16Array } from '@petamoriken/float16';

/** The typed array holding each dtype's elements (F16 and BF16 as their raw 16-bit patterns). */
export interface SafetensorsArrays {
  BOOL: Uint8Array;
  U8: Uint8Array;
  I8: Int8Array;
  I16: Int16Array;
  U16: Uint16Array;
  F16: Uint16Array;
  BF16: Uint16Array;
  I32: Int32Array;
  U32: Uint32Array;
  F32: Float32Array;
  F64: Float64Array;
  I64: BigInt64Array;
  U64: BigUint64Array;
}

export type SafetensorsDtype = keyof SafetensorsArrays;

/** One tensor as stored: row-major elements of `shape` (`[]` is a scalar). */
export interface RawTensor<D extends SafetensorsDtype = SafetensorsDtype> {
  dtype: D;
  shape: number[];
  data: SafetensorsArrays[D];
}

export interface SafetensorsContents {
  tensors: Record<string, RawTensor>;
  metadata: Record<string, string>;
}

interface ArrayType {
  new (
    buffer: ArrayBuffer,
    byteOffset?: number,
    length?: number,
  ): SafetensorsArrays[SafetensorsDtype];
  readonly BYTES_PER_ELEMENT: number;
}

const ARRAY_TYPES: { readonly [D in SafetensorsDtype]: ArrayType } = {
  BOOL: Uint8Array,
  U8: Uint8Array,
  I8: Int8Array,
  I16: Int16Array,
  U16: Uint16Array,
  F16: Uint16Array,
  BF16: Uint16Array,
  I32: Int32Array,
  U32: Uint32Array,
  F32: Float32Array,
  F64: Float64Array,
  I64: BigInt64Array,
  U64: BigUint64Array,
};

/**
 * The order of Hugging Face's `Dtype` enum, which is by increasing alignment. Their writer lays
 * tensors out by descending rank, then by name; doing the same keeps every tensor aligned in the
 * file (readers that map the file need that) and gives byte-identical files.
 */
const LAYOUT_RANK: readonly SafetensorsDtype[] = [
  'BOOL',
  'U8',
  'I8',
  'I16',
  'U16',
  'F16',
  'BF16',
  'I32',
  'U32',
  'F32',
  'F64',
  'I64',
  'U64',
];

const METADATA_KEY = '__metadata__';
/** The reference reader refuses larger headers; a larger length means a corrupt file. */
const MAX_HEADER_BYTES = 100_000_000;
/** Typed arrays use the host's byte order; the format is little-endian. */
const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function isSafetensorsDtype(name: string): name is SafetensorsDtype {
  return Object.prototype.hasOwnProperty.call(ARRAY_TYPES, name);
}

export function bytesPerElement(dtype: SafetensorsDtype): number {
  return ARRAY_TYPES[dtype].BYTES_PER_ELEMENT;
}

// ---------------------------------------------------------------------------------------------
// Encoding

/**
 * The .safetensors bytes of `tensors`. Deterministic: the same tensors and metadata give the same
 * bytes whatever the key order. Data is laid out as Hugging Face's writer does (descending dtype
 * alignment, then name), the header lists `__metadata__` (omitted when empty, keys sorted) and
 * then the tensors in that order, padded with spaces to a multiple of 8 bytes.
 * Throws an Error (a bug, not user input) if a tensor's array does not match its dtype and shape.
 */
export function encodeSafetensors(
  tensors: Record<string, RawTensor>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const names = Object.keys(tensors);
  for (const name of names) checkTensor(name, tensors[name]!);
  names.sort((a, b) => layoutOrder(a, tensors[a]!, b, tensors[b]!));

  const entries: string[] = [];
  const metadataKeys = Object.keys(metadata).sort(compareUtf8);
  if (metadataKeys.length > 0)
    entries.push(`"${METADATA_KEY}":${metadataJson(metadata, metadataKeys)}`);
  let offset = 0;
  for (const name of names) {
    const { dtype, shape, data } = tensors[name]!;
    const offsets = [offset, offset + data.byteLength];
    entries.push(
      `${JSON.stringify(name)}:{"dtype":"${dtype}","shape":${JSON.stringify(shape)},` +
        `"data_offsets":${JSON.stringify(offsets)}}`,
    );
    offset += data.byteLength;
  }
  // Built by hand rather than JSON.stringify(object): objects put integer-like keys ("0") first.
  const json = new TextEncoder().encode(`{${entries.join(',')}}`);
  const headerLength = Math.ceil(json.length / 8) * 8;

  const out = new Uint8Array(8 + headerLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength); // ' '
  let position = 8 + headerLength;
  for (const name of names) {
    const data = tensors[name]!.data;
    out.set(littleEndianBytes(data), position);
    position += data.byteLength;
  }
  return out;
}

function checkTensor(name: string, tensor: RawTensor): void {
  const where = `encodeSafetensors: tensor ${quote(name)}`;
  if (name === METADATA_KEY) throw new Error(`${where}: the name is reserved for metadata`);
  const { dtype, shape, data } = tensor;
  if (!isSafetensorsDtype(dtype))
    throw new Error(`${where}: unknown dtype ${quote(String(dtype))}`);
  const type = ARRAY_TYPES[dtype];
  if (!(data instanceof type))
    throw new Error(`${where}: ${dtype} data must be a ${type.name}, got ${describe(data)}`);
  if (!isShape(shape)) throw new Error(`${where}: bad shape ${JSON.stringify(shape)}`);
  if (data.length !== elementCount(shape))
    throw new Error(
      `${where}: shape ${JSON.stringify(shape)} needs ${elementCount(shape)} elements, ` +
        `got ${data.length}`,
    );
  // PyTorch reads any other byte as an invalid bool.
  if (dtype === 'BOOL' && (data as Uint8Array).some((v) => v > 1))
    throw new Error(`${where}: BOOL data must be 0 or 1`);
}

function layoutOrder(aName: string, a: RawTensor, bName: string, b: RawTensor): number {
  const byRank = LAYOUT_RANK.indexOf(b.dtype) - LAYOUT_RANK.indexOf(a.dtype);
  return byRank !== 0 ? byRank : compareUtf8(aName, bName);
}

/** Byte order of the UTF-8 encodings (code point order), as the reference writer sorts names. */
function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function metadataJson(metadata: Record<string, string>, keys: string[]): string {
  const fields = keys.map((key) => {
    const value = metadata[key];
    if (typeof value !== 'string')
      throw new Error(
        `encodeSafetensors: metadata ${quote(key)} must be a string, got ${typeof value}`,
      );
    return `${JSON.stringify(key)}:${JSON.stringify(value)}`;
  });
  return `{${fields.join(',')}}`;
}

function littleEndianBytes(data: RawTensor['data']): Uint8Array {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return HOST_IS_LITTLE_ENDIAN ? bytes : swapBytes(bytes.slice(), data.BYTES_PER_ELEMENT);
}

// ---------------------------------------------------------------------------------------------
// Decoding

interface TensorEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  begin: number;
  end: number;
}

/**
 * Parses and validates .safetensors bytes. Every problem is a UserError with a one-line message
 * starting with `source` (the file name) and naming the tensor at fault. The returned arrays are
 * fresh copies: aligned, and independent of `bytes`.
 */
export function decodeSafetensors(bytes: Uint8Array, source = '<buffer>'): SafetensorsContents {
  const fail = (message: string) => new UserError(`${printable(source)}: ${message}`);
  const headerLength = readHeaderLength(bytes, fail);
  const header = parseHeader(bytes.subarray(8, 8 + headerLength), fail);
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;

  const entries: TensorEntry[] = [];
  for (const [name, value] of Object.entries(header))
    if (name !== METADATA_KEY) entries.push(parseEntry(name, value, dataLength, fail));
  checkLayout(entries, dataLength, fail);

  const tensors: Record<string, RawTensor> = {};
  for (const { name, dtype, shape, begin, end } of entries) {
    const data = copyElements(bytes.subarray(dataStart + begin, dataStart + end), dtype);
    setOwn(tensors, name, { dtype, shape, data });
  }
  return { tensors, metadata: parseMetadata(header[METADATA_KEY], fail) };
}

type Fail = (message: string) => UserError;

function readHeaderLength(bytes: Uint8Array, fail: Fail): number {
  if (bytes.length < 8)
    throw fail(
      `not a safetensors file: ${bytes.length} bytes, shorter than the 8-byte header length`,
    );
  const length = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (length > BigInt(bytes.length - 8))
    throw fail(
      `header length ${length} runs past the end of the file (${bytes.length} bytes): ` +
        'truncated, or not a safetensors file',
    );
  if (length > BigInt(MAX_HEADER_BYTES))
    throw fail(`header length ${length} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  return Number(length);
}

function parseHeader(bytes: Uint8Array, fail: Fail): Record<string, unknown> {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw fail('header is not valid UTF-8: not a safetensors file');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (err) {
    throw fail(`header is not valid JSON (${printable((err as Error).message)})`);
  }
  if (!isPlainObject(header)) throw fail('header is not a JSON object');
  return header;
}

function parseEntry(name: string, value: unknown, dataLength: number, fail: Fail): TensorEntry {
  const where = `tensor ${quote(name)}`;
  if (!isPlainObject(value)) throw fail(`${where}: header entry is not an object`);
  const { dtype, shape, data_offsets: offsets } = value;
  if (typeof dtype !== 'string' || !isSafetensorsDtype(dtype))
    throw fail(
      `${where} has unsupported dtype ${quote(String(dtype))} ` +
        `(supported: ${LAYOUT_RANK.join(', ')})`,
    );
  if (!isShape(shape))
    throw fail(`${where}: shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isIndex))
    throw fail(
      `${where}: data_offsets ${JSON.stringify(offsets)} is not a pair of non-negative integers`,
    );
  const [begin, end] = offsets as [number, number];
  if (end < begin) throw fail(`${where}: data_offsets [${begin},${end}] end before they begin`);
  if (end > dataLength)
    throw fail(
      `${where}: data_offsets [${begin},${end}] run past the end of the data (${dataLength} bytes)`,
    );
  const needed = elementCount(shape) * bytesPerElement(dtype);
  if (end - begin !== needed)
    throw fail(
      `${where} has ${end - begin} bytes (data_offsets [${begin},${end}]) ` +
        `but shape ${JSON.stringify(shape)} of ${dtype} needs ${needed}`,
    );
  return { name, dtype, shape, begin, end };
}

/** The tensors must tile the data region exactly: no gaps, no overlaps, nothing after. */
function checkLayout(entries: TensorEntry[], dataLength: number, fail: Fail): void {
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let previous: TensorEntry | undefined;
  for (const entry of sorted) {
    const expected = previous?.end ?? 0;
    if (entry.begin < expected)
      throw fail(
        `tensor ${quote(entry.name)}: data_offsets [${entry.begin},${entry.end}] overlap ` +
          `tensor ${quote(previous!.name)} [${previous!.begin},${previous!.end}]`,
      );
    if (entry.begin > expected)
      throw fail(
        `tensor ${quote(entry.name)}: data_offsets [${entry.begin},${entry.end}] leave ` +
          `${entry.begin - expected} unused bytes before it (at ${expected})`,
      );
    previous = entry;
  }
  const end = previous?.end ?? 0;
  if (end === dataLength) return;
  const unused = dataLength - end;
  throw fail(
    previous
      ? `${unused} bytes after tensor ${quote(previous.name)} (the last, ending at ${end}) ` +
          'belong to no tensor'
      : `${unused} bytes of data but no tensors`,
  );
}

function parseMetadata(value: unknown, fail: Fail): Record<string, string> {
  const metadata: Record<string, string> = {};
  if (value === undefined || value === null) return metadata; // the reference reader allows null
  if (!isPlainObject(value)) throw fail(`${METADATA_KEY} is not a JSON object`);
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== 'string')
      throw fail(`${METADATA_KEY} entry ${quote(key)} is a ${jsonType(item)}, not a string`);
    setOwn(metadata, key, item);
  }
  return metadata;
}

/** A copy into a fresh buffer, so the array is aligned whatever the data's offset in the file. */
function copyElements(bytes: Uint8Array, dtype: SafetensorsDtype): RawTensor['data'] {
  const type = ARRAY_TYPES[dtype];
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  if (!HOST_IS_LITTLE_ENDIAN) swapBytes(copy, type.BYTES_PER_ELEMENT);
  return new type(copy.buffer, 0, bytes.length / type.BYTES_PER_ELEMENT);
}

// ---------------------------------------------------------------------------------------------
// Files

/**
 * Writes the file atomically: to a temporary file in the same directory, synced to disk, then
 * renamed over `file`, so a crash leaves either the old file or the new one, never half of one.
 * I/O failures are UserErrors naming `file`; the temporary file is removed.
 */
export async function writeSafetensorsFile(
  file: string,
  tensors: Record<string, RawTensor>,
  metadata?: Record<string, string>,
): Promise<void> {
  await writeFileAtomically(file, encodeSafetensors(tensors, metadata), 'a .safetensors file');
}

/** Reads and validates a .safetensors file; every failure is a one-line UserError naming it. */
export async function readSafetensorsFile(file: string): Promise<SafetensorsContents> {
  return decodeSafetensors(await readBytes(file, 'a .safetensors file'), file);
}

// ---------------------------------------------------------------------------------------------
// Half precision

/** IEEE binary16 bits of the values, rounded to nearest, ties to even; overflow is ±Infinity. */
export function f32ToF16Bits(values: ArrayLike<number>): Uint16Array {
  const halves = Float16Array.from(values);
  return new Uint16Array(halves.buffer, halves.byteOffset, halves.length);
}

/** The float32 bit patterns; a Float32Array is viewed as is, so NaN payloads survive. */
function float32Bits(values: ArrayLike<number>): Uint32Array {
  const floats = values instanceof Float32Array ? values : Float32Array.from(values);
  return new Uint32Array(floats.buffer, floats.byteOffset, floats.length);
}

/** The values of IEEE binary16 bit patterns (exact: every half is a float32). */
export function f16BitsToF32(bits: ArrayLike<number>): Float32Array {
  const patterns = Uint16Array.from(bits);
  return Float32Array.from(new Float16Array(patterns.buffer));
}

/** bfloat16 bits (the top half of a float32), rounded to nearest, ties to even. */
export function f32ToBf16Bits(values: ArrayLike<number>): Uint16Array {
  const bits = float32Bits(values);
  const out = new Uint16Array(bits.length);
  for (let i = 0; i < bits.length; i++) {
    const x = bits[i]!;
    const isNaN = (x & 0x7fffffff) > 0x7f800000;
    // Rounding could turn a NaN with a small payload into Infinity; keep it a (quiet) NaN.
    out[i] = isNaN ? (x >>> 16) | 0x40 : (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
  }
  return out;
}

export function bf16BitsToF32(bits: ArrayLike<number>): Float32Array {
  const out = new Float32Array(bits.length);
  const outBits = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) outBits[i] = bits[i]! << 16;
  return out;
}

/** A tensor's values as a new Float32Array (F16/BF16 decoded; wider types rounded). */
export function toFloat32(raw: RawTensor): Float32Array {
  switch (raw.dtype) {
    case 'F16':
      return f16BitsToF32(raw.data as Uint16Array);
    case 'BF16':
      return bf16BitsToF32(raw.data as Uint16Array);
    case 'F32':
      // A plain copy: Float32Array.from with a map function is far slower on large tensors.
      return new Float32Array(raw.data as Float32Array);
    default:
      return Float32Array.from(raw.data as ArrayLike<number | bigint>, Number);
  }
}

/**
 * Float values stored as F32 (keeping `values` itself, not a copy), F16 or BF16 (rounded to
 * nearest, ties to even).
 */
export function fromFloat32(
  values: Float32Array,
  shape: number[],
  dtype: 'F32' | 'F16' | 'BF16' = 'F32',
): RawTensor {
  switch (dtype) {
    case 'F32':
      return { dtype, shape, data: values };
    case 'F16':
      return { dtype, shape, data: f32ToF16Bits(values) };
    case 'BF16':
      return { dtype, shape, data: f32ToBf16Bits(values) };
  }
}

// ---------------------------------------------------------------------------------------------
// tfjs

/**
 * A copy of a tfjs tensor's values: float32 as F32 (or F16/BF16 when asked), int32 as I32,
 * bool as BOOL. Reads synchronously.
 */
export function tensorToRaw(t: tf.Tensor, floatDtype: 'F32' | 'F16' | 'BF16' = 'F32'): RawTensor {
  const shape = [...t.shape];
  switch (t.dtype) {
    case 'float32':
      return fromFloat32(Float32Array.from(t.dataSync() as Float32Array), shape, floatDtype);
    case 'int32':
      return { dtype: 'I32', shape, data: Int32Array.from(t.dataSync() as Int32Array) };
    case 'bool':
      return {
        dtype: 'BOOL',
        shape,
        data: Uint8Array.from(t.dataSync() as Uint8Array, (v) => (v ? 1 : 0)),
      };
    default:
      throw new Error(`tensorToRaw: cannot store a ${t.dtype} tensor`);
  }
}

/**
 * A tfjs tensor of a stored tensor (its own copy of the values): floats become float32,
 * integers int32 (wider integers must fit: a UserError starting with `label` otherwise),
 * BOOL bool.
 */
export function rawToTensor(raw: RawTensor, label = 'tensor'): tf.Tensor {
  switch (raw.dtype) {
    case 'F32':
    case 'F64':
    case 'F16':
    case 'BF16':
      return tf.tensor(toFloat32(raw), raw.shape, 'float32');
    case 'BOOL':
      return tf.tensor(
        Uint8Array.from(raw.data as Uint8Array, (v) => (v ? 1 : 0)),
        raw.shape,
        'bool',
      );
    default:
      return tf.tensor(toInt32(raw, label), raw.shape, 'int32');
  }
}

function toInt32(raw: RawTensor, label: string): Int32Array {
  const values = raw.data as ArrayLike<number | bigint>;
  const out = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = Number(values[i]!);
    if (v < -0x80000000 || v > 0x7fffffff)
      throw new UserError(
        `${printable(label)}: ${raw.dtype} value ${values[i]} does not fit in tfjs's int32`,
      );
    out[i] = v;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Small helpers

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'list' : typeof value;
}

function describe(value: unknown): string {
  if (typeof value === 'object' && value !== null) return value.constructor?.name ?? 'object';
  return typeof value;
}

/** Reverses the bytes of each `size`-byte element in place (big-endian hosts only). */
function swapBytes(bytes: Uint8Array, size: number): Uint8Array {
  if (size > 1) for (let i = 0; i < bytes.length; i += size) bytes.subarray(i, i + size).reverse();
  return bytes;
}
