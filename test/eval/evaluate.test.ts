import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/select';
import { FaceLandmarker } from '../../src/data/landmarks/landmarker';
import { evaluate, type EvaluateOptions } from '../../src/eval/evaluate';
import { terminalTables } from '../../src/eval/evaluationReport';
import { FID_FEATURES, type FidInception } from '../../src/eval/fid/inception';
import { silentLogger } from '../../src/log';
import { openMetaCheckpoint } from '../../src/train/metaCheckpoint';
import { makeUntrainedMetaCheckpoint } from '../helpers/metaCheckpoint';
import { makeTestStore } from '../helpers/testStore';
import { seededValues } from '../helpers/compare';

/**
 * A stand-in for the Inception net (whose own tests are in fid/): a fixed random projection of
 * an 8x8 thumbnail to 2048 values, enough to check that features of every method are kept per
 * unit and turned into one FID per shot count and method.
 */
function fakeInception(): FidInception {
  const projection = tf.tensor2d(seededValues(8 * 8 * 3 * FID_FEATURES, 9), [192, FID_FEATURES]);
  return {
    features: (images) =>
      tf.tidy(
        () =>
          tf.relu(
            tf.matMul(tf.reshape(tf.image.resizeBilinear(images, [8, 8]), [-1, 192]), projection),
          ) as tf.Tensor2D,
      ),
    dispose: () => projection.dispose(),
  };
}

/**
 * face-api's landmarker with a stand-in detector that finds no face: the real one costs about
 * 0.3 s a frame on wasm (some 60 distinct frames here), and the detection rate is tested on real faces in
 * identityMetrics.test.ts. Landmarks (for NME) are the real net's.
 */
async function landmarkerWithoutDetector(): Promise<FaceLandmarker> {
  const landmarker = await FaceLandmarker.load();
  return Object.assign(landmarker, { detectFaces: async () => [] });
}

let dir: string;
let base: Omit<EvaluateOptions, 'out'>;
beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'th-evaluate-run-'));
  const meta = await makeUntrainedMetaCheckpoint(path.join(dir, 'meta'), {
    imageSize: 64,
    seed: 3,
    videos: 4,
  });
  const store = await makeTestStore(dir, { size: 64, videos: 4, frames: 8 });
  base = {
    meta: await openMetaCheckpoint(meta),
    store,
    shotCounts: [1, 2],
    finetuneEpochs: 0,
    batchSize: 2,
    zoomOut: [],
    targets: 3,
    split: 'all',
    samples: 0,
    fidWeights: 'inception.pth',
    resume: false,
    seed: 0,
    log: silentLogger(),
    loadLandmarker: landmarkerWithoutDetector,
    loadFidInception: async () => fakeInception(),
  };
}, 120_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('Ctrl-C stops after the unit in hand with a partial report; --resume completes it; FID per K and method; no tensors left', async () => {
  const out = path.join(dir, 'run');
  await FaceLandmarker.load(); // its weights stay loaded (once per process), like a real run
  const before = tf.memory().numTensors;
  const controller = new AbortController();
  const first = await evaluate({
    ...base,
    out,
    signal: controller.signal,
    progress: () => ({
      increment: () => controller.abort(),
      update: () => undefined,
      stop: () => undefined,
    }),
  });
  expect(first.interrupted).toBe(true);
  expect(first.report.complete).toBe(false);
  expect(first.report.unitsDone).toBe(1);
  expect(first.report.unitsPlanned).toBe(8); // 4 videos (split all) x 2 shot counts
  expect(terminalTables(first.report)).toMatch(/^INCOMPLETE: 1 of 8 units were evaluated$/m);
  expect(tf.memory().numTensors).toBe(before);

  const done = await evaluate({ ...base, out, resume: true });
  expect(done.interrupted).toBe(false);
  expect(done.report.complete).toBe(true);
  expect(tf.memory().numTensors).toBe(before);
  expect(done.report.fid).toEqual({ computed: true, weights: 'inception.pth' });
  for (const result of done.report.results) {
    expect(result.videos).toBe(4);
    for (const method of done.report.methods) {
      const fid = result.fid![method]!;
      expect(fid).toEqual({ value: expect.any(Number), generated: 12, real: 12 });
      expect((fid as { value: number }).value).toBeGreaterThanOrEqual(0);
    }
  }
  // One shot: mean-shot and copy-nearest-shot output the same frame, so the same FID.
  const one = done.report.results[0]!.fid!;
  expect((one['mean-shot'] as { value: number }).value).toBeCloseTo(
    (one['copy-nearest-shot'] as { value: number }).value,
    6,
  );
  expect(terminalTables(done.report)).toMatch(/FID ↓/);
  expect(terminalTables(done.report)).toMatch(
    /^FID: pytorch-fid's Inception \(pool3, 2048-d\) from inception\.pth$/m,
  );
  expect(fs.readdirSync(path.join(out, 'fid'))).toHaveLength(8);
  // The two rates: no face found anywhere (the stand-in detector); at one shot
  // copy-nearest-shot outputs the shot itself, which verifies as the person it is.
  for (const result of done.report.results)
    for (const method of done.report.methods) expect(result.methods[method]!.detected.mean).toBe(0);
  expect(done.report.results[0]!.methods['copy-nearest-shot']!.verified.mean).toBe(1);
}, 300_000);
