/**
 * Writes PyTorch checkpoints byte for byte as torch.save does, so tests need no Python.
 *
 * `pickle` is a protocol-2 pickler of a small model of Python values that follows CPython's
 * (the one torch.save uses, at torch's default protocol 2): ints as BININT1 / BININT2 / BININT /
 * LONG1 by size, str as BINUNICODE, tuples of 1-3 items as TUPLE1-3 and longer ones as
 * MARK ... TUPLE, dicts as EMPTY_DICT then SETITEMS (SETITEM for one item), globals as GLOBAL,
 * objects as GLOBAL, the args tuple, REDUCE; and a memo: BINPUT after each str, non-empty
 * tuple, list, dict, global and reduced object, BINGET when the same one comes again. CPython
 * memoizes by identity; here equal strings and globals share an entry, as torch's interned
 * strings ('storage', 'cpu', 'version') and module-level globals do there.
 *
 * `buildTorchZip` lays the pickle and the storages out as torch.save in PyTorch >= 1.6 does,
 * `buildLegacyTorchFile` as PyTorch 0.1.10 to 1.5 did.
 */
import { zipSync, type ZipOptions } from 'fflate';

const OP = {
  PROTO: 0x80,
  STOP: 0x2e, // '.'
  NONE: 0x4e, // 'N'
  NEWTRUE: 0x88,
  NEWFALSE: 0x89,
  BININT: 0x4a, // 'J': 4-byte signed
  BININT1: 0x4b, // 'K': 1-byte unsigned
  BININT2: 0x4d, // 'M': 2-byte unsigned
  LONG1: 0x8a, // length byte, then two's complement little-endian
  BINFLOAT: 0x47, // 'G': 8-byte big-endian double
  BINUNICODE: 0x58, // 'X': 4-byte length, then UTF-8
  EMPTY_TUPLE: 0x29, // ')'
  TUPLE1: 0x85,
  TUPLE2: 0x86,
  TUPLE3: 0x87,
  MARK: 0x28, // '('
  TUPLE: 0x74, // 't'
  EMPTY_LIST: 0x5d, // ']'
  APPEND: 0x61, // 'a'
  APPENDS: 0x65, // 'e'
  EMPTY_DICT: 0x7d, // '}'
  SETITEM: 0x73, // 's'
  SETITEMS: 0x75, // 'u'
  GLOBAL: 0x63, // 'c': module '\n' name '\n'
  REDUCE: 0x52, // 'R'
  BUILD: 0x62, // 'b'
  BINPERSID: 0x51, // 'Q'
  BINPUT: 0x71, // 'q'
  LONG_BINPUT: 0x72, // 'r'
  BINGET: 0x68, // 'h'
  LONG_BINGET: 0x6a, // 'j'
} as const;

/** CPython's pickler writes SETITEMS and APPENDS in batches of this many items. */
const BATCH_SIZE = 1000;

export const ELEMENT_SIZE: Readonly<Record<string, number>> = {
  FloatStorage: 4,
  HalfStorage: 2,
  BFloat16Storage: 2,
  DoubleStorage: 8,
  LongStorage: 8,
  IntStorage: 4,
  ShortStorage: 2,
  CharStorage: 1,
  ByteStorage: 1,
  BoolStorage: 1,
  ComplexFloatStorage: 8, // unsupported by the reader; here to test that
};

/** A torch storage: its class ('FloatStorage') and its elements' little-endian bytes. */
export class Storage {
  constructor(
    readonly cls: string,
    readonly bytes: Uint8Array,
  ) {}

  get elementSize(): number {
    return ELEMENT_SIZE[this.cls] ?? 1;
  }

  get numel(): number {
    return this.bytes.length / this.elementSize;
  }
}

export type Rebuild = 'v2' | 'v1' | 'parameter';

/**
 * A tensor, a strided view of a storage, pickled as torch._utils._rebuild_tensor_v2 (PyTorch
 * >= 0.4), _rebuild_tensor (older) or _rebuild_parameter around _rebuild_tensor_v2.
 */
export class Tensor {
  constructor(
    readonly storage: Storage,
    readonly offset: number,
    readonly size: number[],
    readonly stride: number[],
    readonly rebuild: Rebuild = 'v2',
  ) {}
}

export class Tuple {
  readonly items: PyValue[];
  constructor(...items: PyValue[]) {
    this.items = items;
  }
}

/** A dict, or an OrderedDict; `attributes` become its __dict__ (a state dict's _metadata). */
export class Dict {
  constructor(
    readonly entries: [PyValue, PyValue][],
    readonly ordered = false,
    readonly attributes?: Dict,
  ) {}
}

/** A reference to module.name (a class or function). */
export class Global {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
}

/** The result of module.name(*args): GLOBAL, the args tuple, REDUCE. */
export class Call {
  constructor(
    readonly fn: Global,
    readonly args: PyValue[] = [],
  ) {}
}

export type PyValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | PyValue[]
  | Tuple
  | Dict
  | Global
  | Call
  | Tensor
  | Storage;

// ---------------------------------------------------------------------------------------------
// Values

/** Little-endian bytes of `values` as elements of a storage class (F16/BF16: bit patterns). */
export function storage(cls: string, values: ArrayLike<number | bigint>): Storage {
  const size = ELEMENT_SIZE[cls] ?? 1;
  const bytes = new Uint8Array(values.length * size);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) writeElement(view, i * size, cls, values[i]!);
  return new Storage(cls, bytes);
}

function writeElement(view: DataView, at: number, cls: string, value: number | bigint): void {
  const n = Number(value);
  switch (cls) {
    case 'FloatStorage':
      return view.setFloat32(at, n, true);
    case 'DoubleStorage':
      return view.setFloat64(at, n, true);
    case 'HalfStorage':
    case 'BFloat16Storage':
    case 'ShortStorage':
      return view.setUint16(at, n & 0xffff, true);
    case 'LongStorage':
    case 'ComplexFloatStorage':
      return view.setBigInt64(at, BigInt(value), true);
    case 'IntStorage':
      return view.setInt32(at, n, true);
    case 'CharStorage':
    case 'ByteStorage':
    case 'BoolStorage':
      return view.setUint8(at, n & 0xff);
    default:
      throw new Error(`storage: no writer for ${cls}`);
  }
}

/** Row-major strides of a contiguous tensor of `size`. */
export function contiguousStride(size: number[]): number[] {
  const stride = new Array<number>(size.length);
  for (let i = size.length - 1, s = 1; i >= 0; i--) {
    stride[i] = s;
    s *= size[i]!;
  }
  return stride;
}

/** A contiguous tensor with a storage of its own. */
export function tensor(
  cls: string,
  values: ArrayLike<number | bigint>,
  size: number[],
  rebuild: Rebuild = 'v2',
): Tensor {
  return new Tensor(storage(cls, values), 0, size, contiguousStride(size), rebuild);
}

/** An OrderedDict of tensors, as model.state_dict() returns, with its `_metadata` if given. */
export function stateDict(
  tensors: Record<string, PyValue>,
  metadata?: Record<string, number>,
): Dict {
  const attributes = metadata
    ? new Dict(
        [
          [
            '_metadata',
            new Dict(
              Object.entries(metadata).map(([prefix, version]) => [
                prefix,
                new Dict([['version', version]]),
              ]),
              true,
            ),
          ],
        ],
        false,
      )
    : undefined;
  return new Dict(Object.entries(tensors), true, attributes);
}

const ORDERED_DICT = new Global('collections', 'OrderedDict');

// ---------------------------------------------------------------------------------------------
// The pickler

/** The pickle (protocol 2) of `value`; `persistentId` names each storage, as torch's does. */
export function pickle(value: PyValue, persistentId?: (storage: Storage) => PyValue): Uint8Array {
  return new Pickler(persistentId).dump(value);
}

class Pickler {
  private readonly out: number[] = [];
  private readonly memo = new Map<unknown, number>();

  constructor(private readonly persistentId?: (storage: Storage) => PyValue) {}

  dump(value: PyValue): Uint8Array {
    this.out.push(OP.PROTO, 2);
    this.save(value);
    this.out.push(OP.STOP);
    return Uint8Array.from(this.out);
  }

  private save(value: PyValue): void {
    if (value instanceof Storage) return this.savePersistent(value);
    if (value === null) return void this.out.push(OP.NONE);
    if (typeof value === 'boolean') return void this.out.push(value ? OP.NEWTRUE : OP.NEWFALSE);
    if (typeof value === 'bigint') return this.saveInt(value);
    if (typeof value === 'number')
      return Number.isInteger(value) ? this.saveInt(BigInt(value)) : this.saveFloat(value);
    // Strings and globals by value, everything else by identity (see the file comment).
    const key =
      typeof value === 'string'
        ? `str:${value}`
        : value instanceof Global
          ? `global:${value.module}.${value.name}`
          : value;
    const slot = this.memo.get(key);
    if (slot !== undefined) return this.get(slot);
    if (typeof value === 'string') this.saveString(value);
    else if (value instanceof Global) this.saveGlobal(value);
    else if (Array.isArray(value)) return this.saveList(value);
    else if (value instanceof Tuple) return this.saveTuple(value);
    else if (value instanceof Dict) return this.saveDict(value);
    else if (value instanceof Call)
      return this.saveReduce(value.fn, new Tuple(...value.args), value);
    else if (value instanceof Tensor) return this.saveTensor(value);
    this.memoize(key);
  }

  private saveInt(value: bigint): void {
    if (value >= 0n && value <= 0xffn) return void this.out.push(OP.BININT1, Number(value));
    if (value >= 0n && value <= 0xffffn) return this.push(OP.BININT2, le(Number(value), 2));
    if (value >= -0x80000000n && value <= 0x7fffffffn)
      return this.push(OP.BININT, le(Number(value) >>> 0, 4));
    const bytes = encodeLong(value);
    this.push(OP.LONG1, [bytes.length, ...bytes]);
  }

  private saveFloat(value: number): void {
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setFloat64(0, value, false);
    this.push(OP.BINFLOAT, [...bytes]);
  }

  private saveString(value: string): void {
    const utf8 = new TextEncoder().encode(value);
    this.push(OP.BINUNICODE, [...le(utf8.length, 4), ...utf8]);
  }

  private saveGlobal(value: Global): void {
    this.push(OP.GLOBAL, [...new TextEncoder().encode(`${value.module}\n${value.name}\n`)]);
  }

  private saveList(list: PyValue[]): void {
    this.out.push(OP.EMPTY_LIST);
    this.memoize(list);
    for (let i = 0; i < list.length; i += BATCH_SIZE) {
      const batch = list.slice(i, i + BATCH_SIZE);
      if (batch.length === 1) {
        this.save(batch[0]!);
        this.out.push(OP.APPEND);
      } else {
        this.out.push(OP.MARK);
        for (const item of batch) this.save(item);
        this.out.push(OP.APPENDS);
      }
    }
  }

  private saveTuple(tuple: Tuple): void {
    const { items } = tuple;
    if (items.length === 0) return void this.out.push(OP.EMPTY_TUPLE); // not memoized
    if (items.length > 3) this.out.push(OP.MARK);
    for (const item of items) this.save(item);
    this.out.push(
      items.length > 3 ? OP.TUPLE : [OP.TUPLE1, OP.TUPLE2, OP.TUPLE3][items.length - 1]!,
    );
    this.memoize(tuple);
  }

  /** A dict directly; an OrderedDict as OrderedDict() plus items (and state), as it reduces. */
  private saveDict(dict: Dict): void {
    if (dict.ordered) {
      this.save(ORDERED_DICT);
      this.out.push(OP.EMPTY_TUPLE, OP.REDUCE);
    } else this.out.push(OP.EMPTY_DICT);
    this.memoize(dict);
    this.setItems(dict.entries);
    if (dict.attributes) {
      this.save(dict.attributes);
      this.out.push(OP.BUILD);
    }
  }

  private setItems(entries: [PyValue, PyValue][]): void {
    for (let i = 0; i < entries.length; i += BATCH_SIZE) {
      const batch = entries.slice(i, i + BATCH_SIZE);
      if (batch.length > 1) this.out.push(OP.MARK);
      for (const [key, value] of batch) {
        this.save(key);
        this.save(value);
      }
      this.out.push(batch.length > 1 ? OP.SETITEMS : OP.SETITEM);
    }
  }

  private saveReduce(fn: Global, args: Tuple, obj: object): void {
    this.save(fn);
    this.save(args);
    this.out.push(OP.REDUCE);
    this.memoize(obj);
  }

  /** What Tensor.__reduce_ex__ returns: a rebuild function and its arguments. */
  private saveTensor(t: Tensor): void {
    const hooks = new Dict([], true); // backward_hooks: an empty OrderedDict
    const shape = new Tuple(...t.size);
    const stride = new Tuple(...t.stride);
    if (t.rebuild === 'v1')
      return this.saveReduce(
        new Global('torch._utils', '_rebuild_tensor'),
        new Tuple(t.storage, t.offset, shape, stride),
        t,
      );
    const v2 = new Call(new Global('torch._utils', '_rebuild_tensor_v2'), [
      t.storage,
      t.offset,
      shape,
      stride,
      false,
      hooks,
    ]);
    if (t.rebuild === 'v2') return this.saveReduce(v2.fn, new Tuple(...v2.args), t);
    const parameterHooks = new Dict([], true);
    this.saveReduce(
      new Global('torch._utils', '_rebuild_parameter'),
      new Tuple(v2, false, parameterHooks),
      t,
    );
  }

  /** Persistent ids are not memoized; the id tuple itself is, as any tuple. */
  private savePersistent(s: Storage): void {
    if (!this.persistentId) throw new Error('pickle: a storage outside a checkpoint');
    this.save(this.persistentId(s));
    this.out.push(OP.BINPERSID);
  }

  private memoize(key: unknown): void {
    const slot = this.memo.size;
    this.memo.set(key, slot);
    if (slot < 256) this.out.push(OP.BINPUT, slot);
    else this.push(OP.LONG_BINPUT, le(slot, 4));
  }

  private get(slot: number): void {
    if (slot < 256) this.out.push(OP.BINGET, slot);
    else this.push(OP.LONG_BINGET, le(slot, 4));
  }

  private push(op: number, bytes: Iterable<number>): void {
    this.out.push(op, ...bytes);
  }
}

function le(value: number, bytes: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < bytes; i++) out.push(Math.floor(value / 2 ** (8 * i)) & 0xff);
  return out;
}

/** pickle.encode_long: the shortest two's complement little-endian bytes. */
function encodeLong(value: bigint): number[] {
  const out: number[] = [];
  let v = value;
  for (;;) {
    const byte = Number(v & 0xffn);
    out.push(byte);
    v >>= 8n;
    if ((v === 0n && byte < 0x80) || (v === -1n && byte >= 0x80)) return out;
  }
}

// ---------------------------------------------------------------------------------------------
// Checkpoint files

function asRoot(root: PyValue | Record<string, PyValue>): PyValue {
  const isValue =
    root === null ||
    typeof root !== 'object' ||
    Array.isArray(root) ||
    [Tuple, Dict, Global, Call, Tensor, Storage].some((type) => root instanceof type);
  return isValue ? (root as PyValue) : stateDict(root as Record<string, PyValue>);
}

/** The storages of `root` in the order torch.save meets them, each once. */
function storagesOf(root: PyValue): Storage[] {
  const found = new Set<Storage>();
  const visit = (value: PyValue): void => {
    if (value instanceof Storage) found.add(value);
    else if (value instanceof Tensor) found.add(value.storage);
    else if (Array.isArray(value)) value.forEach(visit);
    else if (value instanceof Tuple) value.items.forEach(visit);
    else if (value instanceof Call) value.args.forEach(visit);
    else if (value instanceof Dict) {
      for (const [k, v] of value.entries) {
        visit(k);
        visit(v);
      }
      if (value.attributes) visit(value.attributes);
    }
  };
  visit(root);
  return [...found];
}

export interface TorchZipOptions {
  /** The folder every entry is under: 'archive' by default; some PyTorch versions use the
   * file's stem ('vgg19-dcbb9e9d'). */
  archiveName?: string;
  /** The byteorder entry: 'little' (default), 'big' (storages are written big-endian), or
   * null for none, as PyTorch 1.6 to 1.x wrote. */
  byteorder?: string | null;
  /** Pad each entry's data to a 64-byte boundary with an 'FB' extra field, as PyTorch does. */
  aligned?: boolean;
  /** Entries to leave out ('data.pkl', 'data/0'), relative to the archive folder. */
  omit?: string[];
  /** Entries to write instead of the real ones (relative names). */
  replace?: Record<string, Uint8Array>;
}

/** A PyTorch >= 1.6 checkpoint of `root` (a record of tensors is written as a state dict). */
export function buildTorchZip(
  root: PyValue | Record<string, PyValue>,
  options: TorchZipOptions = {},
): Uint8Array {
  const { archiveName = 'archive', byteorder = 'little', aligned = true } = options;
  const value = asRoot(root);
  const storages = storagesOf(value);
  const keyOf = (s: Storage) => String(storages.indexOf(s));
  const pkl = pickle(value, (s) => new Tuple('storage', torchClass(s), keyOf(s), 'cpu', s.numel));

  // The order torch.save writes them in.
  const entries: [string, Uint8Array][] = [['data.pkl', pkl]];
  if (byteorder !== null) entries.push(['byteorder', new TextEncoder().encode(byteorder)]);
  const keys = storages.map(keyOf).sort(); // sorted as strings, as torch does
  for (const key of keys) {
    const s = storages[Number(key)]!;
    entries.push([`data/${key}`, byteorder === 'big' ? swapped(s) : s.bytes]);
  }
  entries.push(['version', new TextEncoder().encode('3\n')]);
  entries.push(['.data/serialization_id', new TextEncoder().encode('1234567890123456789012345')]);

  const files: [string, Uint8Array][] = [];
  for (const [name, data] of entries) {
    if (options.omit?.includes(name)) continue;
    files.push([`${archiveName}/${name}`, options.replace?.[name] ?? data]);
  }
  for (const [name, data] of Object.entries(options.replace ?? {}))
    if (!entries.some(([known]) => known === name)) files.push([`${archiveName}/${name}`, data]);
  return zipStored(files, aligned);
}

/** A zip of STORED entries in this order, each entry's data 64-byte aligned if asked. */
export function zipStored(files: [string, Uint8Array][], aligned = false): Uint8Array {
  const input: Record<string, [Uint8Array, ZipOptions]> = {};
  let offset = 0; // where the next local header starts; fflate writes them back to back
  for (const [name, data] of files) {
    const nameLength = new TextEncoder().encode(name).length;
    const headerEnd = offset + 30 + nameLength;
    // PyTorch pads with an extra field: id 'FB', a 2-byte length, then that many 'Z's.
    const padding = aligned ? (64 - ((headerEnd + 4) % 64)) % 64 : 0;
    const extra = aligned ? { 0x4246: new Uint8Array(padding).fill(0x5a) } : undefined;
    input[name] = [data, { level: 0, mtime: new Date(2020, 0, 1), extra }];
    offset = headerEnd + (aligned ? 4 + padding : 0) + data.length;
  }
  return zipSync(input);
}

function torchClass(s: Storage): Global {
  return new Global('torch', s.cls);
}

function swapped(s: Storage): Uint8Array {
  const bytes = s.bytes.slice();
  const size = s.elementSize;
  for (let i = 0; i < bytes.length; i += size) bytes.subarray(i, i + size).reverse();
  return bytes;
}

export interface LegacyOptions {
  /** sys_info's type_sizes.long: 8 on Linux and macOS, 4 on Windows. */
  longSize?: number;
  /**
   * Storages that are views of elements [offset, offset + numel) of another (PyTorch < 0.4
   * could save those): the file holds the root, and the view's persistent id says where in it.
   */
  views?: Map<Storage, { root: Storage; offset: number }>;
}

/** The magic number every legacy torch.save file starts with (pickled). */
export const LEGACY_MAGIC_NUMBER = 0x1950a86a20f9469cfc6cn;

/**
 * A checkpoint as torch.save wrote it in PyTorch 0.1.10 to 1.5: five pickles (magic number,
 * protocol version 1001, sys_info, the object, the sorted storage keys), then each storage as
 * its int64 element count and bytes. Storage keys are `str(storage._cdata)` there, addresses;
 * here large numbers too, in the reverse of the order the pickle meets them, so that their
 * sorted order differs from it.
 */
export function buildLegacyTorchFile(
  root: PyValue | Record<string, PyValue>,
  options: LegacyOptions = {},
): Uint8Array {
  const value = asRoot(root);
  const rootOf = (s: Storage) => options.views?.get(s)?.root ?? s;
  const storages = [...new Set(storagesOf(value).map(rootOf))];
  const keyOf = (s: Storage) => String(94_000_000 + 4096 * (storages.length - storages.indexOf(s)));
  const persistentId = (s: Storage) => {
    const view = options.views?.get(s);
    const viewMetadata = view ? new Tuple(`${keyOf(view.root)}.view`, view.offset, s.numel) : null;
    const r = rootOf(s);
    return new Tuple('storage', torchClass(r), keyOf(r), 'cpu', r.numel, viewMetadata);
  };
  const sysInfo = new Dict([
    ['protocol_version', 1001],
    ['little_endian', true],
    [
      'type_sizes',
      new Dict([
        ['short', 2],
        ['int', 4],
        ['long', options.longSize ?? 8],
      ]),
    ],
  ]);
  const keys = storages.map(keyOf).sort();
  const parts: Uint8Array[] = [
    pickle(LEGACY_MAGIC_NUMBER),
    pickle(1001),
    pickle(sysInfo),
    pickle(value, persistentId),
    pickle(keys),
  ];
  for (const key of keys) {
    const s = storages.find((candidate) => keyOf(candidate) === key)!;
    const count = new Uint8Array(8);
    new DataView(count.buffer).setBigInt64(0, BigInt(s.numel), true);
    parts.push(count, s.bytes);
  }
  return concat(parts);
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
