import { isUserError } from '../../errors';
import { printable } from '../../oneLine';
import { shardOf } from '../sampling';
import { DatasetStore } from '../store/store';
import type { FailureRecord } from '../store/schema';
import type { StoreRunOptions } from '../storeRun';
import { processVideo } from './processVideo';
import { listVideos } from './videoFiles';

export interface PreprocessOptions extends StoreRunOptions {
  /** A VoxCeleb2-layout tree, any folder of videos, or one video. */
  input: string;
  /** Videos with fewer frames showing a face fail. */
  minFrames: number;
  /** This run's shard, 0 <= shard < numShards. */
  shard: number;
  numShards: number;
  /** Try videos that failed in an earlier run again. */
  retryFailed: boolean;
}

export interface PreprocessSummary {
  /** Videos in this shard. */
  total: number;
  /** Processed and stored by this run. */
  done: number;
  /** Finished by an earlier run (stored or failed), so left alone. */
  alreadyDone: number;
  /** Failed in this run. */
  failed: FailureRecord[];
  /** Frames stored and frames decoded by this run. */
  framesStored: number;
  framesDecoded: number;
  seconds: number;
  /** True when a signal stopped the run early. */
  interrupted: boolean;
}

/**
 * Preprocesses every video of the shard into the store, one transaction per video, so a crash
 * loses at most the video in hand and a rerun skips everything already recorded. One bad video
 * is recorded as a failure with its reason; it never stops the run.
 */
export async function runPreprocess(options: PreprocessOptions): Promise<PreprocessSummary> {
  const { log, settings } = options;
  const started = Date.now();
  const videos = listVideos(options.input).filter(
    (v) => shardOf(v.key, options.numShards) === options.shard,
  );
  const store = await DatasetStore.create(options.out, settings);
  const summary: PreprocessSummary = {
    total: videos.length,
    done: 0,
    alreadyDone: 0,
    failed: [],
    framesStored: 0,
    framesDecoded: 0,
    seconds: 0,
    interrupted: false,
  };
  try {
    const todo = videos.filter((v) =>
      options.retryFailed ? !store.hasVideo(v.key) : !store.isDone(v.key),
    );
    summary.alreadyDone = videos.length - todo.length;
    const landmarker = todo.length > 0 ? await options.loadLandmarker() : undefined;
    if (summary.alreadyDone > 0)
      log.info(`resuming: ${summary.alreadyDone} of ${videos.length} videos already done`);
    const progress = options.progress?.(todo.length);
    for (const video of todo) {
      if (options.signal?.aborted) {
        summary.interrupted = true;
        break;
      }
      try {
        const processed = await processVideo(video, settings, landmarker!, options.minFrames);
        await store.putVideo(processed.record, processed.jpegs);
        summary.done++;
        summary.framesStored += processed.jpegs.length;
        summary.framesDecoded += processed.decodedFrames;
        for (const s of processed.record.skippedFrames)
          log.debug(`${video.file}: frame ${s.index} skipped: ${s.reason}`);
      } catch (err) {
        // Any error fails this video only. An unexpected one (not a UserError) is logged in
        // full as well, since it may be a bug rather than bad data.
        if (!isUserError(err)) log.warn({ err }, `${video.file}: unexpected error`);
        const message = err instanceof Error ? err.message : String(err);
        // A UserError's message names the file already; keep only the reason in the record.
        const reason = message.startsWith(`${printable(video.file)}: `)
          ? message.slice(printable(video.file).length + 2)
          : message;
        const failure = { key: video.key, source: video.file, reason };
        await store.putFailure(failure);
        summary.failed.push(failure);
        log.debug(`${video.file}: ${reason}`);
      }
      progress?.increment(video.key);
    }
    progress?.stop();
    await store.finalise();
  } finally {
    await store.close();
  }
  summary.seconds = (Date.now() - started) / 1000;
  return summary;
}
