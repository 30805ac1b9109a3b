/**
 * PyTorch checkpoints as torch.save writes them, read without Python or PyTorch.
 *
 * Two layouts hold the same pickled object (usually a state dict: an OrderedDict of tensors):
 * - zip (PyTorch >= 1.6): `<archive>/data.pkl` is the pickle and `<archive>/data/<key>` each
 *   storage's raw bytes, in the byte order `<archive>/byteorder` names (little when absent).
 * - legacy (PyTorch 0.1.10 to 1.5; torchvision's vgg19-dcbb9e9d.pth and the VGG-Face ports are
 *   such files): five pickles back to back (magic number, protocol version, sys_info, the
 *   object, the list of storage keys), then each listed storage as an int64 element count and
 *   its little-endian bytes.
 *
 * In the pickle a tensor is `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)`
 * and its storage a persistent id `('storage', torch.FloatStorage, key, location, numel)`.
 * The pickle is interpreted, never executed: only OrderedDict, the tensor rebuild functions and
 * the storage classes mean anything. Any other global becomes an inert placeholder, an error
 * only where a tensor or the state dict is made of it, so the extras of a training checkpoint
 * (an optimizer, argparse options) do not stop its weights from loading.
 */
import { unzipSync } from 'fflate';
import { BufferReader, Parser } from 'pickleparser';
import { UserError } from '../errors';
import type { RawTensor, SafetensorsDtype } from './safetensors';
import { elementCount, isIndex, isShape } from './shape';
import { printable, quote, setOwn } from '../oneLine';

export interface TorchCheckpoint {
  /** The state dict's tensors, in its order. */
  tensors: Record<string, RawTensor>;
}

export type TorchLayout = 'zip' | 'legacy' | 'tar';

type Fail = (message: string) => UserError;

const RESAVE =
  'legacy PyTorch format: re-save with torch.save(obj, f) in PyTorch >= 1.6 or convert to .safetensors';

/**
 * Reads a PyTorch checkpoint's state dict: the top-level dict of tensors, or the one under its
 * 'state_dict' or 'model' key. Every problem is a one-line UserError starting with `source`
 * and naming the tensor at fault. The arrays are the reader's own (aligned, not views of
 * `bytes`).
 */
export function readTorchCheckpoint(bytes: Uint8Array, source: string): TorchCheckpoint {
  const fail: Fail = (message) => new UserError(`${printable(source)}: ${message}`);
  const checkpoint = openCheckpoint(bytes, fail);
  const entries = stateDictEntries(findStateDict(checkpoint.root, fail), fail);
  return { tensors: buildTensors(entries, checkpoint, fail) };
}

// ---------------------------------------------------------------------------------------------
// Layouts

const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04]; // 'PK\3\4'
/** pickle.dumps(0x1950a86a20f9469cfc6c, protocol=2): how every legacy torch.save file starts. */
const LEGACY_MAGIC = [
  0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e,
];
const LEGACY_PROTOCOL_VERSION = 1001;
const TAR_MAGIC = [0x75, 0x73, 0x74, 0x61, 0x72]; // 'ustar' at offset 257
const PICKLE_PROTO = 0x80;

/** Which torch.save layout `bytes` starts like; undefined for anything else. */
export function torchLayout(bytes: Uint8Array): TorchLayout | undefined {
  if (startsWith(bytes, ZIP_MAGIC)) return 'zip';
  if (startsWith(bytes, LEGACY_MAGIC)) return 'legacy';
  if (startsWith(bytes.subarray(257), TAR_MAGIC)) return 'tar'; // torch.save before 0.1.10
  return undefined;
}

/** The unpickled object and access to the storages it refers to, whatever the layout. */
interface Checkpoint {
  root: unknown;
  /** Whether storage bytes are big-endian (else little). */
  bigEndian: boolean;
  /** Whether loadStorages returns copies this reader may keep or modify. */
  ownsStorages: boolean;
  /** How errors name a storage ("entry 'archive/data/0'"). */
  describeStorage(key: string): string;
  /** The bytes of the storages with these keys; a missing key is absent from the map. */
  loadStorages(keys: ReadonlySet<string>): Map<string, Uint8Array>;
}

function openCheckpoint(bytes: Uint8Array, fail: Fail): Checkpoint {
  switch (torchLayout(bytes)) {
    case 'zip':
      return openZip(bytes, fail);
    case 'legacy':
      return openLegacy(bytes, fail);
    case 'tar':
      throw fail(`${RESAVE} (this is the tar layout of torch.save before PyTorch 0.1.10)`);
    default:
      if (bytes[0] === PICKLE_PROTO) throw fail(`a pickle but not a torch.save file; ${RESAVE}`);
      throw fail(
        'not a PyTorch checkpoint: neither a zip (PyTorch >= 1.6) nor a legacy torch.save file',
      );
  }
}

/** `<archive>/data/<key>` entries, whatever the archive folder is called. */
const ZIP_STORAGE_ENTRY = /^[^/]+\/data\//;
const ZIP_PICKLE_ENTRY = /^[^/]+\/data\.pkl$/;

function openZip(bytes: Uint8Array, fail: Fail): Checkpoint {
  // Storages are extracted later, and only those of the state dict's tensors, to spare memory.
  const names: string[] = [];
  const entries = unzip(bytes, fail, (name) => {
    names.push(name);
    return !ZIP_STORAGE_ENTRY.test(name);
  });
  const pickleName = names.find((name) => ZIP_PICKLE_ENTRY.test(name));
  if (pickleName === undefined)
    throw fail(
      `a zip without <archive>/data.pkl, so not a PyTorch checkpoint (entries: ${listOf(names.map(quote))})`,
    );
  const archive = pickleName.slice(0, -'/data.pkl'.length);
  const refs = new Map<string, StorageRef>();
  const root = unpickle(new BufferReader(entries[pickleName]!), pickleName, fail, (pid) =>
    storageRef(pid, 5, refs, fail),
  );
  const entryOf = (key: string) => `${archive}/data/${key}`;
  return {
    root,
    bigEndian: zipByteOrder(entries[`${archive}/byteorder`], archive, fail) === 'big',
    ownsStorages: true, // fflate copies what it extracts
    describeStorage: (key) => `entry ${quote(entryOf(key))}`,
    loadStorages(keys) {
      const wanted = new Map([...keys].map((key) => [entryOf(key), key]));
      const found = unzip(bytes, fail, (name) => wanted.has(name));
      return new Map(Object.entries(found).map(([name, data]) => [wanted.get(name)!, data]));
    },
  };
}

function unzip(
  bytes: Uint8Array,
  fail: Fail,
  keep: (name: string) => boolean,
): Record<string, Uint8Array> {
  try {
    return unzipSync(bytes, { filter: (file) => keep(file.name) });
  } catch (err) {
    throw fail(`not a valid zip file, truncated or corrupt (${messageOf(err)})`);
  }
}

function zipByteOrder(entry: Uint8Array | undefined, archive: string, fail: Fail): string {
  if (entry === undefined) return 'little'; // PyTorch 1.6 to 1.x wrote none, on little-endian hosts
  const order = new TextDecoder().decode(entry).trim();
  if (order !== 'little' && order !== 'big')
    throw fail(`${archive}/byteorder says ${quote(order)}, expected 'little' or 'big'`);
  return order;
}

function openLegacy(bytes: Uint8Array, fail: Fail): Checkpoint {
  const start = LEGACY_MAGIC.length;
  const reader = new BufferReader(bytes.subarray(start));
  const version = unpickle(reader, 'the protocol version pickle', fail);
  if (version !== LEGACY_PROTOCOL_VERSION)
    throw fail(`legacy torch.save protocol version ${String(version)} is not supported`);
  const sysInfo = unpickle(reader, 'the sys_info pickle', fail);
  if (sysInfo instanceof Map && sysInfo.get('little_endian') === false)
    throw fail(`written on a big-endian machine, which is not supported; ${RESAVE}`);
  const refs = new Map<string, StorageRef>();
  const root = unpickle(reader, 'the object pickle', fail, (pid) => storageRef(pid, 6, refs, fail));
  const keys = unpickle(reader, 'the storage key list', fail);
  if (!Array.isArray(keys) || !keys.every((key) => typeof key === 'string'))
    throw fail('the storage key list is not a list of strings: corrupt legacy checkpoint');
  const dataStart = start + reader.position;
  return {
    root,
    bigEndian: false,
    ownsStorages: false, // views of `bytes`
    describeStorage: (key) => `storage ${quote(key)}`,
    loadStorages: (wanted) => legacyStorages(bytes, dataStart, keys, refs, wanted, fail),
  };
}

/** Each storage is an int64 element count, then its bytes; they follow in the listed order. */
function legacyStorages(
  bytes: Uint8Array,
  start: number,
  keys: string[],
  refs: Map<string, StorageRef>,
  wanted: ReadonlySet<string>,
  fail: Fail,
): Map<string, Uint8Array> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Map<string, Uint8Array>();
  let position = start;
  for (const key of keys) {
    if (out.size === wanted.size) break; // what follows is not needed
    const ref = refs.get(key);
    if (ref === undefined) throw fail(`storage ${quote(key)} is listed but never referenced`);
    if (ref.dtype === undefined)
      throw fail(`storage ${quote(key)} has unsupported type ${ref.typeName}`);
    if (position + 8 > bytes.length)
      throw fail(`truncated: storage ${quote(key)} starts past the end of the file`);
    const numel = Number(view.getBigInt64(position, true));
    const end = position + 8 + numel * DTYPE_INFO[ref.dtype].size;
    if (numel < 0 || end > bytes.length)
      throw fail(
        `truncated: storage ${quote(key)} needs bytes up to ${end}, the file has ${bytes.length}`,
      );
    if (wanted.has(key)) out.set(key, bytes.subarray(position + 8, end));
    position = end;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Unpickling

/** A storage as its persistent id names it: ('storage', torch.XStorage, key, location, numel). */
class StorageRef {
  constructor(
    readonly key: string,
    /** The storage class, e.g. 'torch.FloatStorage'. */
    readonly typeName: string,
    /** Undefined for a storage class this reader does not support. */
    readonly dtype: SafetensorsDtype | undefined,
    /** Legacy layout: the tensor sees elements [offset, offset + size) of the storage. */
    readonly view?: { offset: number; size: number },
  ) {}
}

/** A call to a tensor rebuild function, checked once the tensor's name is known. */
class TensorCall {
  constructor(
    readonly fn: string,
    readonly args: unknown[],
  ) {}
  /** pickleparser's BUILD calls this; a plain tensor has no state worth keeping. */
  __setstate__(): void {}
}

/** What an unsupported global made: inert, kept only to name the global in errors. */
class Opaque {
  constructor(readonly global: string) {}
  __setstate__(): void {}
}

/** A resolved pickle global: a function that knows its Python name. */
type PyGlobal = ((...args: unknown[]) => unknown) & { pythonName: string };

const STORAGE_CLASSES: Readonly<Record<string, SafetensorsDtype>> = {
  FloatStorage: 'F32',
  HalfStorage: 'F16',
  BFloat16Storage: 'BF16',
  DoubleStorage: 'F64',
  LongStorage: 'I64',
  IntStorage: 'I32',
  ShortStorage: 'I16',
  CharStorage: 'I8',
  ByteStorage: 'U8',
  BoolStorage: 'BOOL',
};

/**
 * The meaning of each global a state dict uses. Functions, not arrows: NEWOBJ constructs what
 * GLOBAL pushed, and a function returning an object constructs to that object.
 */
function resolveGlobal(module: string, name: string): PyGlobal {
  const pythonName = `${module}.${name}`;
  const as = (fn: (...args: unknown[]) => unknown) => Object.assign(fn, { pythonName });
  switch (pythonName) {
    case 'collections.OrderedDict':
      return as(function (items?: unknown) {
        return orderedDict(items);
      });
    case 'torch._utils._rebuild_tensor': // PyTorch < 0.4: (storage, offset, size, stride)
    case 'torch._utils._rebuild_tensor_v2': // (..., requires_grad, backward_hooks[, metadata])
      return as(function (...args: unknown[]) {
        return new TensorCall(pythonName, args);
      });
    case 'torch._utils._rebuild_parameter': // (tensor, requires_grad, backward_hooks)
    case 'torch._utils._rebuild_parameter_with_state':
      return as(function (data: unknown) {
        return data;
      });
    case 'torch._tensor._rebuild_from_type_v2': // (func, subclass, args, state): a subclass
      // `func` is what GLOBAL resolved here, so calling it runs nothing of the file's.
      return as(function (func: unknown, _type: unknown, args: unknown) {
        return typeof func === 'function' && Array.isArray(args)
          ? (func as PyGlobal)(...args)
          : new Opaque(pythonName);
      });
  }
  // Storage classes stay inert too: the persistent id only needs their names.
  return as(function () {
    return new Opaque(pythonName);
  });
}

/** Python 3 pickles OrderedDict() then SETITEMS; Python 2 passes [[key, value], ...]. */
function orderedDict(items: unknown): Map<unknown, unknown> {
  const dict = new Map<unknown, unknown>();
  if (Array.isArray(items))
    for (const pair of items)
      if (Array.isArray(pair) && pair.length === 2) dict.set(pair[0], pair[1]);
  return dict;
}

/**
 * The storage a persistent id names, recorded in `refs` by key (the legacy layout needs each
 * storage's type to find where the next one starts). Zip ids have 5 fields; legacy ones a 6th,
 * view_metadata: null or (view_key, offset, size).
 */
function storageRef(
  pid: unknown,
  fields: 5 | 6,
  refs: Map<string, StorageRef>,
  fail: Fail,
): StorageRef {
  // Legacy torch.save(model) names the model's class with a ('module', ...) id.
  if (Array.isArray(pid) && pid[0] === 'module')
    throw fail(`a whole pickled model (${describePid(pid)}): save model.state_dict() instead`);
  if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length !== fields)
    throw fail(`unsupported persistent id ${describePid(pid)}: not a torch storage`);
  const [, cls, key, , numel, view] = pid as unknown[];
  const typeName = pythonNameOf(cls);
  if (typeName === undefined || typeof key !== 'string' || !isIndex(numel))
    throw fail(`malformed storage persistent id ${describePid(pid)}`);
  const dtype = typeName.startsWith('torch.') ? STORAGE_CLASSES[typeName.slice(6)] : undefined;
  const ref = new StorageRef(key, typeName, dtype, legacyView(view, pid, fail));
  if (!refs.has(key)) refs.set(key, ref);
  return ref;
}

function legacyView(
  view: unknown,
  pid: unknown,
  fail: Fail,
): { offset: number; size: number } | undefined {
  if (view === undefined || view === null) return undefined;
  if (!Array.isArray(view) || view.length !== 3 || !isIndex(view[1]) || !isIndex(view[2]))
    throw fail(`malformed storage view in persistent id ${describePid(pid)}`);
  return { offset: view[1], size: view[2] };
}

function pythonNameOf(value: unknown): string | undefined {
  if (typeof value !== 'function') return undefined;
  const name = (value as Partial<PyGlobal>).pythonName;
  return typeof name === 'string' ? name : undefined;
}

/** One pickle from `reader`, which is left just past its STOP opcode. */
function unpickle(
  reader: BufferReader,
  what: string,
  fail: Fail,
  persistentLoad?: (pid: unknown) => unknown,
): unknown {
  const parser = new Parser({
    nameResolver: { resolve: resolveGlobal },
    persistentResolver: {
      resolve: (pid: unknown) => {
        if (persistentLoad) return persistentLoad(pid);
        throw fail(`${what} has an unexpected persistent id`);
      },
    },
    // A Map keeps insertion order whatever the keys, and no key can reach a prototype.
    unpicklingTypeOfDictionary: 'Map',
  });
  try {
    return parser.read(reader);
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw fail(`${what} is not a valid pickle (${messageOf(err)}): corrupt or truncated file`);
  }
}

// ---------------------------------------------------------------------------------------------
// The state dict

const NESTED_KEYS = ['state_dict', 'model'];

/** The top-level dict if it holds tensors, else the dict of tensors under a NESTED_KEYS key. */
function findStateDict(root: unknown, fail: Fail): Map<unknown, unknown> {
  if (!(root instanceof Map))
    throw fail(`the checkpoint holds ${describePy(root)}, not a dict of tensors (a state dict)`);
  for (const key of NESTED_KEYS) {
    const nested = root.get(key);
    if (nested instanceof Map && holdsTensors(nested)) return nested;
  }
  if (holdsTensors(root)) return root;
  const keys = [...root.keys()].map((key) => (typeof key === 'string' ? quote(key) : String(key)));
  const hint = NESTED_KEYS.filter((key) => root.has(key))
    .map((key) => `; ${quote(key)} holds ${describePy(root.get(key))}`)
    .join('');
  throw fail(
    `no tensors at the top level or under 'state_dict' or 'model'` +
      ` (top-level keys: ${keys.length ? listOf(keys) : 'none'})${hint}`,
  );
}

/** Whether `dict` holds tensors, counting those PyTorch rebuilds in ways not supported here. */
function holdsTensors(dict: Map<unknown, unknown>): boolean {
  for (const value of dict.values())
    if (
      value instanceof TensorCall ||
      (value instanceof Opaque && value.global.startsWith('torch.'))
    )
      return true;
  return false;
}

interface TensorSpec {
  name: string;
  storage: StorageRef & { dtype: SafetensorsDtype };
  offset: number;
  shape: number[];
  stride: number[];
}

function stateDictEntries(dict: Map<unknown, unknown>, fail: Fail): TensorSpec[] {
  const specs: TensorSpec[] = [];
  for (const [key, value] of dict) {
    if (typeof key !== 'string')
      throw fail(`the state dict has a non-string key ${describePy(key)}`);
    specs.push(tensorSpec(key, value, fail));
  }
  return specs;
}

function tensorSpec(name: string, value: unknown, fail: Fail): TensorSpec {
  const where = `tensor ${quote(name)}`;
  if (!(value instanceof TensorCall)) throw fail(`${where} is ${describePy(value)}, not a tensor`);
  const [storage, offset, shape, stride] = value.args;
  const minArgs = value.fn.endsWith('_v2') ? 6 : 4;
  if (
    value.args.length < minArgs ||
    !(storage instanceof StorageRef) ||
    !isIndex(offset) ||
    !isShape(shape) ||
    !isShape(stride) ||
    stride.length !== shape.length
  )
    throw fail(`${where}: malformed ${value.fn} arguments`);
  if (storage.dtype === undefined)
    throw fail(
      `${where} has unsupported storage type ${storage.typeName} ` +
        `(supported: ${Object.keys(STORAGE_CLASSES).join(', ')})`,
    );
  return {
    name,
    storage: storage as TensorSpec['storage'],
    offset,
    shape: shape.map(Number),
    stride: stride.map(Number),
  };
}

// ---------------------------------------------------------------------------------------------
// Tensors from storages

interface ArrayType {
  new (buffer: ArrayBuffer, byteOffset?: number, length?: number): RawTensor['data'];
}

const DTYPE_INFO: Readonly<Record<SafetensorsDtype, { size: number; array: ArrayType }>> = {
  BOOL: { size: 1, array: Uint8Array },
  U8: { size: 1, array: Uint8Array },
  I8: { size: 1, array: Int8Array },
  I16: { size: 2, array: Int16Array },
  U16: { size: 2, array: Uint16Array },
  F16: { size: 2, array: Uint16Array },
  BF16: { size: 2, array: Uint16Array },
  I32: { size: 4, array: Int32Array },
  U32: { size: 4, array: Uint32Array },
  F32: { size: 4, array: Float32Array },
  F64: { size: 8, array: Float64Array },
  I64: { size: 8, array: BigInt64Array },
  U64: { size: 8, array: BigUint64Array },
};

const HOST_IS_BIG_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 0;

function buildTensors(
  specs: TensorSpec[],
  checkpoint: Checkpoint,
  fail: Fail,
): Record<string, RawTensor> {
  const users = new Map<string, number>();
  for (const { storage } of specs) users.set(storage.key, (users.get(storage.key) ?? 0) + 1);
  const storages = checkpoint.loadStorages(new Set(users.keys()));
  const swap = checkpoint.bigEndian !== HOST_IS_BIG_ENDIAN;
  const tensors: Record<string, RawTensor> = {};
  for (const spec of specs) {
    const bytes = storages.get(spec.storage.key);
    if (bytes === undefined)
      throw fail(
        `missing storage ${checkpoint.describeStorage(spec.storage.key)} ` +
          `for tensor ${quote(spec.name)}`,
      );
    checkExtent(spec, bytes, checkpoint, fail);
    // A storage that one tensor uses whole is adopted rather than copied: half the memory.
    const adopt = checkpoint.ownsStorages && users.get(spec.storage.key) === 1;
    setOwn(tensors, spec.name, tensorFrom(spec, bytes, adopt, swap));
  }
  return tensors;
}

/** The tensor's last element must lie within its storage (or its legacy view of one). */
function checkExtent(spec: TensorSpec, bytes: Uint8Array, checkpoint: Checkpoint, fail: Fail) {
  const { size } = DTYPE_INFO[spec.storage.dtype];
  const view = spec.storage.view;
  const stored = Math.floor(bytes.length / size);
  const available = view ? Math.min(view.size, Math.max(0, stored - view.offset)) : stored;
  const count = elementCount(spec.shape);
  const needed =
    count === 0
      ? 0
      : spec.offset + spec.shape.reduce((n, d, i) => n + (d - 1) * spec.stride[i]!, 1);
  if (needed > available)
    throw fail(
      `storage too short for tensor ${quote(spec.name)}: shape ${JSON.stringify(spec.shape)} ` +
        `with stride ${JSON.stringify(spec.stride)} at offset ${spec.offset} needs ` +
        `${needed} elements of ${spec.storage.typeName}, ` +
        `${checkpoint.describeStorage(spec.storage.key)} has ${available}`,
    );
}

function tensorFrom(
  spec: TensorSpec,
  storage: Uint8Array,
  adopt: boolean,
  swap: boolean,
): RawTensor {
  const { dtype } = spec.storage;
  const { size, array } = DTYPE_INFO[dtype];
  const count = elementCount(spec.shape);
  const offset = spec.offset + (spec.storage.view?.offset ?? 0);
  let bytes: Uint8Array;
  if (!isContiguous(spec.shape, spec.stride)) bytes = gather(storage, spec, offset, size);
  else if (
    adopt &&
    offset === 0 &&
    count * size === storage.length &&
    storage.byteOffset % size === 0
  )
    bytes = storage;
  // A copy, aligned; not storage.slice, which for a Node Buffer is a view.
  else bytes = new Uint8Array(storage.subarray(offset * size, (offset + count) * size));
  if (swap) swapBytes(bytes, size);
  return {
    dtype,
    shape: spec.shape,
    data: new array(bytes.buffer as ArrayBuffer, bytes.byteOffset, count),
  };
}

/** Row-major contiguous: the fast path. A dimension of size 1 may have any stride. */
function isContiguous(shape: number[], stride: number[]): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] === 1) continue;
    if (stride[i] !== expected) return false;
    expected *= shape[i]!;
  }
  return true;
}

/** The elements of a strided view, in row-major order, walked run by run along the last axis. */
function gather(storage: Uint8Array, spec: TensorSpec, offset: number, size: number): Uint8Array {
  const { shape, stride } = spec;
  const count = elementCount(shape);
  const out = new Uint8Array(count * size);
  if (count === 0) return out;
  // Elements move as whole 1-, 2- or 4-byte words: fast, and bit-exact (a float view could
  // quiet a signalling NaN).
  const unit = Math.min(size, 4);
  const words = size / unit;
  const from = wordView(storage.byteOffset % unit === 0 ? storage : new Uint8Array(storage), unit);
  const to = wordView(out, unit);
  const last = shape.length - 1;
  const length = shape[last]!;
  const step = stride[last]! * words;
  const index = new Array<number>(last).fill(0); // position among the outer axes
  for (let run = 0, position = 0; run < count / length; run++) {
    let start = offset;
    for (let axis = 0; axis < last; axis++) start += index[axis]! * stride[axis]!;
    for (let j = 0, at = start * words; j < length; j++, at += step)
      for (let w = 0; w < words; w++) to[position++] = from[at + w]!;
    for (let axis = last - 1; axis >= 0 && ++index[axis]! === shape[axis]; axis--) index[axis] = 0;
  }
  return out;
}

function wordView(bytes: Uint8Array, unit: number): Uint8Array | Uint16Array | Uint32Array {
  const type = unit === 4 ? Uint32Array : unit === 2 ? Uint16Array : Uint8Array;
  return new type(
    bytes.buffer as ArrayBuffer,
    bytes.byteOffset,
    Math.floor(bytes.byteLength / unit),
  );
}

function swapBytes(bytes: Uint8Array, size: number): void {
  if (size > 1) for (let i = 0; i < bytes.length; i += size) bytes.subarray(i, i + size).reverse();
}

// ---------------------------------------------------------------------------------------------
// Small helpers

function startsWith(bytes: Uint8Array, prefix: readonly number[]): boolean {
  return bytes.length >= prefix.length && prefix.every((byte, i) => bytes[i] === byte);
}

/** A Python value as errors describe it: "a dict", "an int", "a 'argparse.Namespace' object". */
function describePy(value: unknown): string {
  if (value instanceof Opaque)
    return `a ${quote(value.global)} object (an unsupported pickle global)`;
  if (value instanceof TensorCall) return 'a tensor';
  if (value instanceof StorageRef) return 'a storage';
  if (value instanceof Map) return 'a dict';
  if (Array.isArray(value)) return 'a list or tuple';
  if (value === null || value === undefined) return 'None';
  if (typeof value === 'function') return `the global ${pythonNameOf(value) ?? '?'}`;
  if (typeof value === 'number' || typeof value === 'bigint') return `the number ${value}`;
  if (typeof value === 'string') return `the string ${quote(value)}`;
  return `a ${typeof value}`;
}

/** The first fields of a persistent id (a legacy model's carries its whole source code). */
function describePid(pid: unknown): string {
  if (!Array.isArray(pid)) return describePy(pid);
  const shown = pid
    .slice(0, 3)
    .map((item) => describePy(item).replace(/^the (string|number) /, ''));
  return `(${shown.join(', ')}${pid.length > 3 ? ', ...' : ''})`;
}

function listOf(items: string[], max = 8): string {
  const shown = items.slice(0, max).join(', ');
  return items.length > max ? `${shown}, ... (${items.length} in all)` : shown;
}

function messageOf(err: unknown): string {
  return printable(err instanceof Error ? err.message : String(err));
}
