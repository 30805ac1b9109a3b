/**
 * `npm run bench:person [-- --quick]`: few-shot fine-tuning seconds per epoch at 8 shots (one
 * epoch: 4 steps at batch 2, face-api L_CNT) and animation frames per second (landmark tracking and generation) on the
 * wasm backend, for the tiny preset at 64 px and the paper preset at 256 px. The weights are
 * untrained: speed does not depend on them. Prints figures; asserts nothing.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend } from '../src/backend/select';
import { animateVideo } from '../src/data/driver/animate';
import { FaceLandmarker } from '../src/data/landmarks/landmarker';
import { silentLogger } from '../src/log';
import { finetune } from '../src/train/finetune';
import { framesToBytes } from '../src/train/feedForward';
import { openMetaCheckpoint } from '../src/train/metaCheckpoint';
import { openPersonModel } from '../src/train/personModel';
import { makeUntrainedMetaCheckpoint } from '../test/helpers/metaCheckpoint';
import { facePhoto, writeSynthPersonVideo } from '../test/helpers/personVideo';
import { GRACE_HOPPER, writeFaceVideo } from '../test/helpers/videos';

const quick = process.argv.includes('--quick');

interface Row {
  preset: string;
  size: number;
  batchSize: number;
  secondsPerEpoch: string;
  trackFps: string;
  renderFps: string;
}

const PRESETS = {
  tiny: { size: 64, driverFrames: quick ? 20 : 40, batchSize: 2 },
  // The paper's generator takes seconds a frame on wasm: fewer driver frames for it.
  paper: { size: 256, driverFrames: quick ? 4 : 12, batchSize: 1 },
} as const;
type Preset = keyof typeof PRESETS;
type Stage = 'finetune' | 'animate';

/** The preset's untrained meta checkpoint and a person video, made once per run. */
async function inputs(dir: string, preset: Preset) {
  const { size } = PRESETS[preset];
  const run = path.join(dir, `${preset}-meta`);
  if (!fs.existsSync(run))
    await makeUntrainedMetaCheckpoint(run, { imageSize: size, seed: 1, preset });
  const video = path.join(dir, `${preset}-person.mp4`);
  if (!fs.existsSync(video))
    await writeSynthPersonVideo(video, facePhoto(6), { frames: 16, size: 2 * size, seed: 3 });
  return { meta: await openMetaCheckpoint(run), video };
}

/** One stage of one preset in this process; prints its figures as a JSON line. */
async function child(dir: string, preset: Preset, stage: Stage): Promise<void> {
  await initBackend({ backend: 'wasm' });
  const { meta, video } = await inputs(dir, preset);
  const { batchSize, driverFrames } = PRESETS[preset];
  const landmarker = await FaceLandmarker.load();
  const tune = (out: string, epochs: number) =>
    finetune({
      meta,
      out: path.join(dir, out),
      input: video,
      shots: 8,
      zoomOut: [],
      epochs,
      batchSize,
      resume: false,
      seed: 0,
      log: silentLogger(),
      loadLandmarker: async () => landmarker,
    });
  if (stage === 'finetune') {
    const summary = await tune(`${preset}-tuned`, 1);
    process.stdout.write(
      `ROW ${JSON.stringify({ secondsPerEpoch: summary.secondsPerEpoch!.toFixed(2) })}\n`,
    );
    return;
  }
  await tune(`${preset}-ff`, 0);
  const person = await openPersonModel(path.join(dir, `${preset}-ff`));
  const driver = path.join(dir, `driver-${driverFrames}.mp4`);
  await writeFaceVideo(driver, GRACE_HOPPER, { frames: driverFrames });
  const animated = await animateVideo({
    driver,
    out: path.join(dir, `${preset}.mp4`),
    ...person.info.framing,
    personPoints: Float32Array.from(person.info.meanPoints),
    retarget: true,
    sideBySide: false,
    watermark: false,
    metadata: { comment: 'made by talking-heads: benchmark' },
    render: (images, count) => framesToBytes(person.generator, images, count),
    landmarker,
    batch: 4,
    log: silentLogger(),
  });
  person.generator.dispose();
  const figures = {
    trackFps: (animated.frames / animated.seconds.landmarks).toFixed(1),
    renderFps: (animated.frames / animated.seconds.render).toFixed(2),
  };
  process.stdout.write(`ROW ${JSON.stringify(figures)}\n`);
}

/**
 * Each stage in its own process: running out of the wasm heap aborts the wasm module for good
 * (it cannot be caught and recovered from), and the other figures should still come out.
 */
function runChild(dir: string, preset: Preset, stage: Stage): Record<string, string> {
  const result = spawnSync(
    process.execPath,
    [...process.execArgv, __filename, '--child', dir, preset, stage, ...(quick ? ['--quick'] : [])],
    { encoding: 'utf8', maxBuffer: 64 << 20 },
  );
  const line = result.stdout.split('\n').find((l) => l.startsWith('ROW '));
  if (line) return JSON.parse(line.slice(4)) as Record<string, string>;
  const why = /RuntimeError: (Aborted|memory access out of bounds)/.exec(result.stderr);
  const failed = `failed (${why ? `wasm: ${why[1]}, the 4 GiB heap` : `exit ${result.status}`})`;
  return stage === 'finetune' ? { secondsPerEpoch: failed } : { trackFps: failed, renderFps: '-' };
}

function main(): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'th-bench-person-'));
  try {
    const rows: Row[] = (Object.keys(PRESETS) as Preset[]).map((preset) => ({
      preset,
      size: PRESETS[preset].size,
      batchSize: PRESETS[preset].batchSize,
      ...(runChild(dir, preset, 'finetune') as { secondsPerEpoch: string }),
      ...(runChild(dir, preset, 'animate') as { trackFps: string; renderFps: string }),
    }));
    console.log(
      `fine-tuning (8 shots, one epoch) and animation on wasm, ${os.cpus().length} cores`,
    );
    console.log(
      '| preset | px | batch | fine-tuning s/epoch | landmark tracking frames/s | generation frames/s |',
    );
    console.log('|---|---|---|---|---|---|');
    for (const r of rows)
      console.log(
        `| ${r.preset} | ${r.size} | ${r.batchSize} | ${r.secondsPerEpoch} | ${r.trackFps} | ${r.renderFps} |`,
      );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const childArg = process.argv.indexOf('--child');
if (childArg > 0) {
  const [dir, preset, stage] = process.argv.slice(childArg + 1);
  void child(dir!, preset as Preset, stage as Stage);
} else main();
