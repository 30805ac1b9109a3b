import * as fs from 'node:fs';
import * as path from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import { UserError } from '../../errors';
import { printable, quote } from '../../oneLine';
import {
  STORE_FORMAT,
  type FailureRecord,
  type StoreIndex,
  type StoreSettings,
  type VideoRecord,
} from './schema';

/**
 * Layout: one LMDB environment (a directory holding data.mdb and lock.mdb) with named
 * sub-databases. Keys use lmdb-js's default ordered-binary key encoding.
 *   meta      'settings' -> StoreSettings, 'index' -> StoreIndex (present only while current)
 *   videos    video key -> the VideoRecord without its points (msgpack)
 *   points    video key -> the points as little-endian float32 bytes (binary)
 *   frames    [video key, j] -> JPEG bytes of stored frame j (binary)
 *   failures  video key -> FailureRecord (msgpack)
 * Points live apart from the records so that scans (finalise, info, merge) decode only the small
 * records, and because lmdb-js's msgpack turns a Float32Array into garbage bytes.
 */
const DB = {
  meta: 'meta',
  videos: 'videos',
  points: 'points',
  frames: 'frames',
  failures: 'failures',
} as const;

const SETTINGS = 'settings';
const INDEX = 'index';
/** Points per frame (68 landmarks, x and y). */
const FLOATS_PER_FRAME = 136;
/** lmdb-js refuses keys over 1978 bytes; a frame key adds a few bytes to the video key. */
const MAX_KEY_BYTES = 1900;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A VideoRecord as stored in `videos`: everything but the points. */
type StoredVideo = Omit<VideoRecord, 'points'>;

export interface VideoWrite {
  record: VideoRecord;
  /** One JPEG per entry of record.frameIndices. */
  jpegs: Uint8Array[];
}

export interface OpenOptions {
  /** Default true: readers never take the write lock and may run beside a writing process. */
  readOnly?: boolean;
}

/**
 * lmdb-js shares one native environment per path within a process, and opening a path for writing
 * while it is open read-only here fails with a cryptic "No transaction to renew"; counted here so
 * that case is a clear error instead.
 */
const openReadOnly = new Map<string, number>();

/**
 * A preprocessed talking-head corpus in LMDB. Writes are atomic per call and durable when their
 * promise resolves; readers in other processes see each write once it has committed.
 */
export class DatasetStore {
  private constructor(
    readonly path: string,
    readonly settings: StoreSettings,
    readonly readOnly: boolean,
    private readonly root: RootDatabase,
    private readonly db: Record<keyof typeof DB, Database>,
  ) {}

  /**
   * Creates a store at `dir`, or reopens one for writing (to resume a run). A store made with other
   * settings or in another format is refused, so that one store never mixes settings.
   */
  static async create(dir: string, settings: StoreSettings): Promise<DatasetStore> {
    const where = printable(dir);
    const existed = inspectDirectory(dir, 'create');
    const resolved = path.resolve(dir);
    if ((openReadOnly.get(resolved) ?? 0) > 0) {
      throw new Error(`${where}: open read-only in this process; close it before writing to it`);
    }
    const root = openEnvironment(dir, false);
    const db = openDatabases(root);
    try {
      const stored = db.meta.get(SETTINGS) as StoreSettings | undefined;
      if (stored === undefined) {
        // An environment without settings is ours only if nothing else is in it (a run that died
        // between creating the files and writing the settings).
        if (existed && !isEmpty(root, db)) {
          throw new UserError(`${where}: an LMDB database that is not a dataset store`);
        }
        await root.childTransaction(() => db.meta.put(SETTINGS, settings));
        await root.flushed;
      } else {
        checkFormat(dir, stored);
        const diff = firstDifference(stored, settings);
        if (diff) {
          throw new UserError(
            `${where}: holds a store made with ${diff.name}=${diff.a}, not ${diff.name}=${diff.b}; ` +
              'resume with the same settings or choose another output',
          );
        }
      }
      return new DatasetStore(dir, stored ?? settings, false, root, db);
    } catch (err) {
      await root.close();
      throw err;
    }
  }

  /** Opens an existing store; read-only unless `{readOnly: false}`. */
  static open(dir: string, options: OpenOptions = {}): DatasetStore {
    const readOnly = options.readOnly ?? true;
    const where = printable(dir);
    inspectDirectory(dir, 'open');
    const resolved = path.resolve(dir);
    if (!readOnly && (openReadOnly.get(resolved) ?? 0) > 0) {
      throw new Error(`${where}: open read-only in this process; close it before writing to it`);
    }
    const root = openEnvironment(dir, readOnly);
    try {
      // The sub-databases are names in the root database; a read-only open cannot create them.
      const names = new Set(root.getKeys());
      if (!Object.values(DB).every((name) => names.has(name))) {
        throw new UserError(`${where}: an LMDB database that is not a dataset store`);
      }
      const db = openDatabases(root);
      const settings = db.meta.get(SETTINGS) as StoreSettings | undefined;
      if (settings === undefined) {
        throw new UserError(`${where}: not a dataset store (it has no settings yet)`);
      }
      checkFormat(dir, settings);
      if (readOnly) openReadOnly.set(resolved, (openReadOnly.get(resolved) ?? 0) + 1);
      return new DatasetStore(dir, settings, readOnly, root, db);
    } catch (err) {
      void root.close();
      throw err;
    }
  }

  hasVideo(key: string): boolean {
    return this.db.videos.doesExist(key);
  }

  hasFailure(key: string): boolean {
    return this.db.failures.doesExist(key);
  }

  /** Whether a run has dealt with `key` (stored it or recorded why not), so a resume skips it. */
  isDone(key: string): boolean {
    return this.hasVideo(key) || this.hasFailure(key);
  }

  /** Writes one video with all its frames in one transaction and clears any failure for its key. */
  putVideo(record: VideoRecord, jpegs: Uint8Array[]): Promise<void> {
    return this.putVideos([{ record, jpegs }]);
  }

  /**
   * Writes several videos in one transaction (all or none of them). Resolves once the transaction
   * is on disk, so a video reported written survives a crash right after.
   */
  async putVideos(videos: readonly VideoWrite[]): Promise<void> {
    this.assertWritable();
    for (const { record, jpegs } of videos) checkVideo(record, jpegs);
    const { db } = this;
    // A throw inside a childTransaction aborts it; in a plain lmdb-js transaction() the puts made
    // before the throw would still be committed.
    await this.root.childTransaction(() => {
      for (const { record, jpegs } of videos) {
        const { key } = record;
        const previous = db.videos.get(key) as StoredVideo | undefined;
        const { points, ...stored } = record;
        db.videos.put(key, stored);
        db.points.put(key, pointsToBytes(points));
        jpegs.forEach((jpeg, j) => {
          if (!(jpeg instanceof Uint8Array)) {
            throw new TypeError(`${quote(key)}: frame ${j} is not a Uint8Array of JPEG bytes`);
          }
          db.frames.put([key, j], jpeg);
        });
        // A rewrite with fewer frames must not leave the old tail behind.
        for (let j = jpegs.length; j < (previous?.frameIndices.length ?? 0); j++) {
          db.frames.remove([key, j]);
        }
        db.failures.remove(key);
      }
      db.meta.remove(INDEX);
    });
    await this.root.flushed;
  }

  /** Records why a video could not be used; the latest outcome wins, so a stored video goes. */
  putFailure(record: FailureRecord): Promise<void> {
    return this.putFailures([record]);
  }

  async putFailures(records: readonly FailureRecord[]): Promise<void> {
    this.assertWritable();
    for (const record of records) checkKey(record.key);
    const { db } = this;
    await this.root.childTransaction(() => {
      for (const record of records) {
        const previous = db.videos.get(record.key) as StoredVideo | undefined;
        if (previous) {
          db.videos.remove(record.key);
          db.points.remove(record.key);
          for (let j = 0; j < previous.frameIndices.length; j++) {
            db.frames.remove([record.key, j]);
          }
        }
        db.failures.put(record.key, {
          key: record.key,
          source: record.source,
          reason: record.reason,
        });
      }
      db.meta.remove(INDEX);
    });
    await this.root.flushed;
  }

  /** A video's record without its points: what it is and where it came from, cheap to read. */
  videoInfo(key: string): Omit<VideoRecord, 'points'> | undefined {
    return this.db.videos.get(key) as StoredVideo | undefined;
  }

  getVideo(key: string): VideoRecord | undefined {
    const stored = this.videoInfo(key);
    if (stored === undefined) return undefined;
    const bytes = this.db.points.get(key) as Uint8Array | undefined;
    if (bytes === undefined) {
      throw new UserError(`${printable(this.path)}: video ${quote(key)} has no points (damaged)`);
    }
    return { ...stored, points: pointsFromBytes(bytes) };
  }

  /** The raw points bytes (little-endian float32), for exact comparisons without decoding. */
  pointBytes(key: string): Uint8Array | undefined {
    return this.db.points.get(key) as Uint8Array | undefined;
  }

  /** The JPEG bytes of stored frame j of video `key` (a copy). */
  readFrame(key: string, j: number): Uint8Array {
    const jpeg = this.db.frames.get([key, j]) as Uint8Array | undefined;
    if (jpeg === undefined) {
      throw new UserError(`${printable(this.path)}: video ${quote(key)} has no frame ${j}`);
    }
    return jpeg;
  }

  /** Every video key, sorted (by UTF-16 code units, as Array.prototype.sort does). */
  videoKeys(): string[] {
    return (Array.from(this.db.videos.getKeys()) as string[]).sort();
  }

  getFailure(key: string): FailureRecord | undefined {
    return this.db.failures.get(key) as FailureRecord | undefined;
  }

  /** Every failure, sorted by key. */
  failures(): FailureRecord[] {
    const records = Array.from(
      this.db.failures.getRange(),
      (entry) => entry.value as FailureRecord,
    );
    return records.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /** The index as finalise would write it now (a scan of the video records). */
  computeIndex(): StoreIndex {
    return buildIndex(Array.from(this.db.videos.getRange(), (entry) => entry.value as StoredVideo));
  }

  /** Writes the index of the videos stored now; a later write removes it again. */
  async finalise(): Promise<StoreIndex> {
    this.assertWritable();
    let index: StoreIndex | undefined;
    // Scanned inside the write transaction, so no write from another process slips in between.
    await this.root.childTransaction(() => {
      index = this.computeIndex();
      this.db.meta.put(INDEX, index);
    });
    await this.root.flushed;
    return index!;
  }

  isFinalised(): boolean {
    return this.db.meta.doesExist(INDEX);
  }

  /** The index written by finalise; a store that was never finished has none. */
  index(): StoreIndex {
    const index = this.db.meta.get(INDEX) as StoreIndex | undefined;
    if (index === undefined) {
      throw new UserError(
        `${printable(this.path)}: the store is not finalised (its run was interrupted or is still ` +
          `going); run ${this.settings.producer} again to finish it`,
      );
    }
    return index;
  }

  async close(): Promise<void> {
    if (this.readOnly) {
      const resolved = path.resolve(this.path);
      const count = (openReadOnly.get(resolved) ?? 1) - 1;
      if (count > 0) openReadOnly.set(resolved, count);
      else openReadOnly.delete(resolved);
    }
    await this.root.close();
  }

  private assertWritable(): void {
    if (this.readOnly) throw new Error(`${printable(this.path)}: opened read-only`);
  }
}

/** Whether `dir` already holds an environment; errors for paths that cannot be a store. */
function inspectDirectory(dir: string, action: 'create' | 'open'): boolean {
  const where = printable(dir);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && action === 'create') return false;
    if (code === 'ENOENT') throw new UserError(`${where}: no such store`);
    if (code === 'ENOTDIR')
      throw new UserError(`${where}: a parent of the path is not a directory`);
    throw new UserError(`${where}: ${printable((err as Error).message)}`);
  }
  if (!stat.isDirectory()) {
    throw new UserError(`${where}: not a dataset store (a store is a directory)`);
  }
  if (fs.existsSync(path.join(dir, 'data.mdb'))) return true;
  // Never scatter LMDB files into a directory holding something else (a video folder, say).
  if (action === 'open' || fs.readdirSync(dir).length > 0) {
    throw new UserError(`${where}: not a dataset store (no data.mdb in it)`);
  }
  return false;
}

function openEnvironment(dir: string, readOnly: boolean): RootDatabase {
  try {
    // The map starts small; lmdb-js grows it as data is written (readers follow), so no mapSize.
    return open({ path: dir, maxDbs: 8, readOnly });
  } catch (err) {
    throw new UserError(
      `${printable(dir)}: cannot open the store: ${printable((err as Error).message)}`,
    );
  }
}

function openDatabases(root: RootDatabase): Record<keyof typeof DB, Database> {
  const binary = { encoding: 'binary' as const };
  return {
    meta: root.openDB(DB.meta, {}),
    videos: root.openDB(DB.videos, {}),
    points: root.openDB(DB.points, binary),
    frames: root.openDB(DB.frames, binary),
    failures: root.openDB(DB.failures, {}),
  };
}

function isEmpty(root: RootDatabase, db: Record<keyof typeof DB, Database>): boolean {
  const ours = new Set<unknown>(Object.values(DB));
  for (const key of root.getKeys()) if (!ours.has(key)) return false;
  return Object.values(db).every((d) => d.getKeysCount() === 0);
}

function checkFormat(dir: string, settings: StoreSettings): void {
  if (settings.format !== STORE_FORMAT) {
    throw new UserError(
      `${printable(dir)}: a store of format ${printable(String(settings.format))}; this version ` +
        `of talking-heads reads format ${STORE_FORMAT}`,
    );
  }
}

export interface SettingDifference {
  /** Dotted path of the setting ('crop.scale'). */
  name: string;
  a: string;
  b: string;
}

/** The first setting (in a's order, then b's extras) whose value differs, or undefined. */
export function firstDifference(a: StoreSettings, b: StoreSettings): SettingDifference | undefined {
  const fa = flatten(a);
  const fb = flatten(b);
  for (const name of new Set([...fa.keys(), ...fb.keys()])) {
    if (!Object.is(fa.get(name), fb.get(name))) {
      return { name, a: show(fa.get(name)), b: show(fb.get(name)) };
    }
  }
  return undefined;
}

function flatten(
  value: object,
  prefix = '',
  out = new Map<string, unknown>(),
): Map<string, unknown> {
  for (const [name, v] of Object.entries(value)) {
    if (v !== null && typeof v === 'object') flatten(v as object, `${prefix}${name}.`, out);
    else out.set(prefix + name, v);
  }
  return out;
}

function show(value: unknown): string {
  return value === undefined ? '(unset)' : printable(String(value));
}

function checkKey(key: string): void {
  if (typeof key !== 'string' || key === '') {
    throw new Error(`a store key must be a non-empty string, not ${printable(String(key))}`);
  }
  const bytes = Buffer.byteLength(key);
  if (bytes > MAX_KEY_BYTES) {
    throw new UserError(
      `${quote(key)}: too long for a store key (${bytes} bytes; at most ${MAX_KEY_BYTES})`,
    );
  }
}

function checkVideo(record: VideoRecord, jpegs: readonly Uint8Array[]): void {
  checkKey(record.key);
  const frames = record.frameIndices.length;
  if (jpegs.length !== frames) {
    throw new Error(`${quote(record.key)}: ${jpegs.length} JPEGs for ${frames} frame indices`);
  }
  if (!(record.points instanceof Float32Array)) {
    throw new Error(`${quote(record.key)}: points must be a Float32Array`);
  }
  if (record.points.length !== frames * FLOATS_PER_FRAME) {
    throw new Error(
      `${quote(record.key)}: ${record.points.length} point values for ${frames} frames ` +
        `(expected ${frames * FLOATS_PER_FRAME})`,
    );
  }
}

function pointsToBytes(points: Float32Array): Buffer {
  // A byte copy keeps every bit (NaN payloads included), unlike writeFloatLE via float64.
  const bytes = Buffer.from(new Uint8Array(points.buffer, points.byteOffset, points.byteLength));
  if (!LITTLE_ENDIAN) bytes.swap32();
  return bytes;
}

function pointsFromBytes(bytes: Uint8Array): Float32Array {
  if (bytes.byteLength % 4 !== 0) throw new Error(`points: ${bytes.byteLength} bytes, not float32`);
  // Copied into a fresh buffer: lmdb-js may hand back bytes at an offset not divisible by 4.
  const points = new Float32Array(bytes.byteLength / 4);
  const view = new Uint8Array(points.buffer);
  view.set(bytes);
  if (!LITTLE_ENDIAN) Buffer.from(points.buffer).swap32();
  return points;
}

/** Videos sorted by key, their column i in W; identities sorted, each video's as an index. */
export function buildIndex(records: readonly StoredVideo[]): StoreIndex {
  const sorted = [...records].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const identities = [...new Set(sorted.map((r) => r.identity))].sort();
  const position = new Map(identities.map((identity, i) => [identity, i]));
  return {
    videos: sorted.map((r) => r.key),
    identities,
    identityOf: sorted.map((r) => position.get(r.identity)!),
    frameCounts: sorted.map((r) => r.frameIndices.length),
  };
}
