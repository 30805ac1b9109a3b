import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../../errors';
import type { Logger } from '../../log';
import { printable, quote } from '../../oneLine';
import { DatasetStore, firstDifference, type VideoWrite } from './store';
import type { FailureRecord, StoreSettings, VideoRecord } from './schema';

export interface MergeCounts {
  /** Videos written to the output. */
  videos: number;
  frames: number;
  failures: number;
  /** Videos found again with an identical record (in another input or the output) and skipped. */
  duplicates: number;
}

export interface MergeOptions {
  log?: Logger;
  /** Frame bytes held before a batch is written; bounds memory whatever the stores' size. */
  batchBytes?: number;
  /**
   * The output's producer, for inputs that different commands made (the corpus: videos through
   * preprocess, portraits through synth); their producers then need not agree.
   */
  producer?: StoreSettings['producer'];
}

const DEFAULT_BATCH_BYTES = 64 * 1024 * 1024;
/** Also bounds the number of videos per transaction when the frames are tiny. */
const BATCH_VIDEOS = 1000;
/** The output's own videos, as a source of a key. */
const OUTPUT = -1;

/**
 * Joins shard stores into `output` (new, or an existing store with the same settings) and
 * finalises it. Every conflict is found before anything is written, so a refused merge leaves the
 * output as it was.
 */
export async function mergeStores(
  output: string,
  inputs: readonly string[],
  options: MergeOptions = {},
): Promise<MergeCounts> {
  const { log } = options;
  const batchBytes = options.batchBytes ?? DEFAULT_BATCH_BYTES;
  checkPaths(output, inputs);
  const stores: DatasetStore[] = [];
  let out: DatasetStore | undefined;
  try {
    for (const input of inputs) stores.push(DatasetStore.open(input));
    const first = stores[0]!;
    const settings = { ...first.settings, producer: options.producer ?? first.settings.producer };
    const compared = (store: DatasetStore) =>
      options.producer ? { ...store.settings, producer: options.producer } : store.settings;
    for (const store of stores.slice(1)) {
      const diff = firstDifference(compared(first), compared(store));
      if (diff) {
        throw new UserError(
          `${printable(store.path)}: ${diff.name} is ${diff.b} but ${diff.a} in ` +
            `${printable(first.path)}; only stores with equal settings can be merged`,
        );
      }
    }
    // An existing output takes part in the check for conflicts; a new one is made only after it,
    // so that a refused merge leaves nothing behind.
    if (fs.existsSync(path.join(output, 'data.mdb'))) {
      out = await DatasetStore.create(output, settings);
    }

    // Which source each key comes from; a key seen again must carry an identical record.
    const owner = new Map<string, number>();
    for (const key of out?.videoKeys() ?? []) owner.set(key, OUTPUT);
    let duplicates = 0;
    const conflicts: string[] = [];
    for (const [i, store] of stores.entries()) {
      for (const key of store.videoKeys()) {
        const seen = owner.get(key);
        if (seen === undefined) owner.set(key, i);
        else if (sameVideo(seen === OUTPUT ? out! : stores[seen]!, store, key)) duplicates++;
        else
          conflicts.push(
            `${quote(key)} differs between ${sourceName(seen)} and ${printable(store.path)}`,
          );
      }
    }
    if (conflicts.length > 0) {
      const more =
        conflicts.length > 1 ? ` (and ${conflicts.length - 1} more conflicting keys)` : '';
      throw new UserError(`cannot merge: video ${conflicts[0]}${more}`);
    }

    out ??= await DatasetStore.create(output, settings);
    const target = out;
    const counts: MergeCounts = { videos: 0, frames: 0, failures: 0, duplicates };
    for (const [i, store] of stores.entries()) {
      log?.info({ store: store.path }, 'merging videos');
      let batch: VideoWrite[] = [];
      let bytes = 0;
      const flush = async () => {
        await target.putVideos(batch);
        counts.videos += batch.length;
        counts.frames += batch.reduce((n, v) => n + v.jpegs.length, 0);
        batch = [];
        bytes = 0;
      };
      for (const key of store.videoKeys()) {
        if (owner.get(key) !== i) continue;
        const record = store.getVideo(key)!;
        const jpegs = record.frameIndices.map((_, j) => store.readFrame(key, j));
        batch.push({ record, jpegs });
        bytes += jpegs.reduce((n, jpeg) => n + jpeg.byteLength, 0);
        if (bytes >= batchBytes || batch.length >= BATCH_VIDEOS) await flush();
      }
      if (batch.length > 0) await flush();
    }

    // A failure is kept only where no source has the video; the first input's reason wins.
    const failures = new Map<string, FailureRecord>();
    for (const store of stores) {
      for (const failure of store.failures()) {
        if (
          !owner.has(failure.key) &&
          !failures.has(failure.key) &&
          !target.hasFailure(failure.key)
        ) {
          failures.set(failure.key, failure);
        }
      }
    }
    const failureList = [...failures.values()];
    for (let start = 0; start < failureList.length; start += BATCH_VIDEOS) {
      await target.putFailures(failureList.slice(start, start + BATCH_VIDEOS));
    }
    counts.failures = failureList.length;

    const index = await target.finalise();
    log?.info(
      { output, videos: index.videos.length, identities: index.identities.length },
      'merged and finalised',
    );
    return counts;

    function sourceName(source: number): string {
      return source === OUTPUT
        ? `${printable(output)} (the output)`
        : printable(stores[source]!.path);
    }
  } finally {
    await Promise.all(stores.map((store) => store.close()));
    await out?.close();
  }
}

/** The same video in both: equal records and points, bit for bit. */
function sameVideo(a: DatasetStore, b: DatasetStore, key: string): boolean {
  const ra = a.getVideo(key)!;
  const rb = b.getVideo(key)!;
  const pa = a.pointBytes(key)!;
  const pb = b.pointBytes(key)!;
  return Buffer.from(pa).equals(Buffer.from(pb)) && sameMetadata(ra, rb);
}

/** `source` is left out: it is where each run found the file, and shards differ in their roots. */
function sameMetadata(a: VideoRecord, b: VideoRecord): boolean {
  const strip = ({ key, identity, videoId, frameIndices, cropBox, skippedFrames }: VideoRecord) =>
    JSON.stringify([key, identity, videoId, frameIndices, cropBox, skippedFrames]);
  return strip(a) === strip(b);
}

function checkPaths(output: string, inputs: readonly string[]): void {
  if (inputs.length === 0) throw new UserError('merge: no input stores');
  const seen = new Map<string, string>();
  for (const input of inputs) {
    const id = identity(input);
    const earlier = seen.get(id);
    if (earlier !== undefined) {
      throw new UserError(
        `${printable(input)}: given twice as an input (also as ${printable(earlier)})`,
      );
    }
    seen.set(id, input);
  }
  const clash = seen.get(identity(output));
  if (clash !== undefined) {
    throw new UserError(
      `${printable(output)}: the output is also an input; merge into another store`,
    );
  }
}

/** The real path where it exists, so two spellings of one directory compare equal. */
function identity(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}
