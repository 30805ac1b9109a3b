/**
 * `npm run bench:data [-- --quick]`: preprocessing speed (stored and decoded frames per second,
 * wasm backend, face-api detection and landmarks) and episode sampler speed at 256 px, K = 8
 * (batches per second, and how long a training loop waits for a batch while it computes).
 * Prints figures; asserts nothing.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend } from '../src/backend/select';
import { EpisodeSampler } from '../src/data/episodes/sampler';
import { encodeJpeg, readImage } from '../src/data/image';
import { FaceLandmarker } from '../src/data/landmarks/landmarker';
import { rasteriseLandmarks } from '../src/data/landmarks/rasterise';
import { runPreprocess } from '../src/data/preprocess/runPreprocess';
import { DatasetStore } from '../src/data/store/store';
import { silentLogger } from '../src/log';
import { meanFacePoints } from '../test/helpers/meanFace';
import { ASTRONAUT, GRACE_HOPPER, writeFaceVideo } from '../test/helpers/videos';
import { storeSettings } from './storeSettings';

const quick = process.argv.includes('--quick');
const SIZE = 256;
const K = 8;

const settings = (framesPerVideo: number) => storeSettings(SIZE, framesPerVideo);

async function benchPreprocess(dir: string): Promise<void> {
  const videos = quick ? 2 : 6;
  const frames = quick ? 50 : 125; // 2 s and 5 s at 25 fps
  const input = path.join(dir, 'videos');
  for (let v = 0; v < videos; v++) {
    fs.mkdirSync(path.join(input, `id${v}`, 'yt'), { recursive: true });
    await writeFaceVideo(
      path.join(input, `id${v}`, 'yt', '00001.mp4'),
      v % 2 ? ASTRONAUT : GRACE_HOPPER,
      {
        frames,
        width: 320,
        height: 360,
      },
    );
  }
  const landmarker = await FaceLandmarker.load();
  const summary = await runPreprocess({
    input,
    out: path.join(dir, 'preprocessed'),
    settings: settings(32),
    minFrames: 9,
    shard: 0,
    numShards: 1,
    retryFailed: false,
    loadLandmarker: async () => landmarker,
    log: silentLogger(),
  });
  const perVideo = (summary.seconds / summary.done).toFixed(2);
  console.log(
    `preprocess: ${summary.done} videos of ${frames} frames (320x360), 32 sampled each -> ${SIZE} px: ` +
      `${(summary.framesStored / summary.seconds).toFixed(1)} stored frames/s, ` +
      `${(summary.framesDecoded / summary.seconds).toFixed(1)} decoded frames/s, ${perVideo} s per video`,
  );
}

/** A store of 256 px JPEG crops of real photos, shifted per frame (realistic decode cost). */
async function makeSamplerStore(dir: string): Promise<DatasetStore> {
  const out = path.join(dir, 'sampler');
  const writer = await DatasetStore.create(out, settings(32));
  const photos = [await readImage(GRACE_HOPPER), await readImage(ASTRONAUT)];
  for (let v = 0; v < 8; v++) {
    const photo = photos[v % 2]!;
    const jpegs: Uint8Array[] = [];
    for (let j = 0; j < 32; j++) {
      const rgb = new Uint8Array(SIZE * SIZE * 3);
      for (let y = 0; y < SIZE; y++) {
        const sy = Math.min(photo.height - 1, y + j);
        const from = (sy * photo.width + j) * 3;
        rgb.set(photo.rgb.subarray(from, from + SIZE * 3), y * SIZE * 3);
      }
      jpegs.push(await encodeJpeg({ rgb, width: SIZE, height: SIZE }, 95));
    }
    const points = new Float32Array(32 * 136).map((_, i) => 64 + ((i * 37) % 128));
    await writer.putVideo(
      {
        key: `id${v}/clip`,
        source: 'bench',
        identity: `id${v}`,
        videoId: 'clip',
        frameIndices: jpegs.map((_, j) => j),
        points,
        cropBox: { left: 0, top: 0, size: SIZE },
        skippedFrames: [],
      },
      jpegs,
    );
  }
  await writer.finalise();
  await writer.close();
  return DatasetStore.open(out);
}

function busyWait(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

async function benchSampler(dir: string): Promise<void> {
  const store = await makeSamplerStore(dir);
  const batches = quick ? 10 : 40;
  for (const batchSize of [1, 4]) {
    const sampler = new EpisodeSampler(store, {
      k: K,
      batchSize,
      seed: 1,
      split: 'all',
      flip: true,
    });
    await sampler.nextArrays(); // warm-up
    const start = performance.now();
    for (let i = 0; i < batches; i++) await sampler.nextArrays();
    const alone = (performance.now() - start) / batches;
    // A training loop: a synchronous step of `step` ms (as tfjs wasm is), then the next batch.
    const step = 400;
    let waited = 0;
    for (let i = 0; i < Math.min(batches, 10); i++) {
      busyWait(step);
      const t = performance.now();
      await sampler.nextArrays();
      waited += performance.now() - t;
    }
    await sampler.close();
    console.log(
      `sampler ${SIZE} px, K=${K}, batch ${batchSize}: ${(1000 / alone).toFixed(1)} batches/s ` +
        `(${((batchSize * (K + 1) * 1000) / alone).toFixed(0)} frames/s); beside a ${step} ms step the loop ` +
        `waits ${(waited / Math.min(batches, 10)).toFixed(1)} ms per batch`,
    );
  }
  await store.close();
}

/** Landmark-image drawing: median ms per 256 px face over 100 draws, after 20 warm-up draws. */
function benchRasterise(): void {
  const size = 256;
  const face = meanFacePoints(size);
  const out = new Float32Array(size * size * 3);
  for (let i = 0; i < 20; i++) rasteriseLandmarks(face, { size }, out);
  const times: number[] = [];
  for (let i = 0; i < 100; i++) {
    const start = performance.now();
    rasteriseLandmarks(face, { size }, out);
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  console.log(
    `landmark image, 256 px: median ${times[50]!.toFixed(3)} ms (min ${times[0]!.toFixed(3)}, max ${times[99]!.toFixed(3)})`,
  );
}

async function main(): Promise<void> {
  console.log(`${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, node ${process.version}`);
  await initBackend({ backend: 'wasm' });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'th-bench-data-'));
  try {
    benchRasterise();
    await benchSampler(dir);
    await benchPreprocess(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

void main();
