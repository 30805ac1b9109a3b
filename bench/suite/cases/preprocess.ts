import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FaceLandmarker } from '../../../src/data/landmarks/landmarker';
import { runPreprocess, type PreprocessSummary } from '../../../src/data/preprocess/runPreprocess';
import { silentLogger } from '../../../src/log';
import { GRACE_HOPPER, writeFaceVideo } from '../../../test/helpers/videos';
import { storeSettings } from '../../storeSettings';
import { timeAfterWarmUp, timeFirstRun, type TimingPlan } from '../measure';
import type { Timing } from '../results';

export interface PreprocessArgs {
  clipFrames: number;
  clipWidth: number;
  clipHeight: number;
  sampledFrames: number;
  size: number;
}

export type PreprocessCaseArgs = PreprocessArgs & TimingPlan;

export interface PreprocessFigures {
  /** ms to preprocess the clip, each run into a new store. */
  timing: Timing;
  framesStored: number;
  framesDecoded: number;
}

/**
 * `talking-heads preprocess` on one face clip (a window panning over a portrait, 25 fps): probe,
 * decode the sampled frames, detect and track the face with face-api on this process's tfjs
 * backend, crop, encode and store. One landmarker serves every run, as in one preprocess run
 * over many clips; the first run is the warm-up.
 */
export async function runPreprocessCase(args: PreprocessCaseArgs): Promise<PreprocessFigures> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'th-bench-preprocess-'));
  try {
    const input = path.join(dir, 'videos');
    fs.mkdirSync(path.join(input, 'id0'), { recursive: true });
    await writeFaceVideo(path.join(input, 'id0', 'clip.mp4'), GRACE_HOPPER, {
      frames: args.clipFrames,
      width: args.clipWidth,
      height: args.clipHeight,
    });
    const landmarker = await FaceLandmarker.load();
    let store = 0;
    let last: PreprocessSummary | undefined;
    const once = async () => {
      last = await runPreprocess({
        input,
        out: path.join(dir, `store${store++}`),
        settings: storeSettings(args.size, args.sampledFrames),
        minFrames: Math.min(9, args.sampledFrames),
        shard: 0,
        numShards: 1,
        retryFailed: false,
        loadLandmarker: async () => landmarker,
        log: silentLogger(),
      });
      if (last.done !== 1)
        throw new Error(`preprocess failed: ${last.failed[0]?.reason ?? 'no clip stored'}`);
    };
    const first = await timeFirstRun(once);
    const timing = await timeAfterWarmUp(once, args, first.ms);
    return { timing, framesStored: last!.framesStored, framesDecoded: last!.framesDecoded };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
