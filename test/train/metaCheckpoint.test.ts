import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/select';
import { readSafetensorsFile } from '../../src/formats/safetensors';
import {
  defaultMetaCheckpoint,
  loadMetaNetworks,
  openMetaCheckpoint,
  SHIPPED_MODEL_DIR,
  VIDEO_MATRIX,
} from '../../src/train/metaCheckpoint';
import { releaseModel } from '../../src/train/releaseModel';
import { makeUntrainedMetaCheckpoint } from '../helpers/metaCheckpoint';

let dir: string;
beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'th-meta-ckpt-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test("the commands' default is the shipped model; a missing one is a one-line UserError", () => {
  expect(defaultMetaCheckpoint()).toBe(SHIPPED_MODEL_DIR);
  expect(fs.existsSync(path.join(SHIPPED_MODEL_DIR, 'manifest.json'))).toBe(true);
  expect(() => defaultMetaCheckpoint(path.join(dir, 'gone'))).toThrow(
    /gone: the shipped model is missing \(no manifest.json\); give --checkpoint/,
  );
});

test('release: E, G and D as float16 without W or optimizer state, opened like any checkpoint', async () => {
  const run = await makeUntrainedMetaCheckpoint(path.join(dir, 'r'), {
    imageSize: 64,
    seed: 4,
    videos: 5,
  });
  const out = path.join(dir, 'released');
  fs.mkdirSync(out);
  fs.writeFileSync(path.join(out, 'README.md'), 'model card');
  const summary = await releaseModel(run, out, { precision: 'F16' });
  // The card beside it survives; the model file is about half the checkpoint's, W gone.
  expect(fs.readFileSync(path.join(out, 'README.md'), 'utf8')).toBe('model card');
  const source = await openMetaCheckpoint(run);
  const released = await openMetaCheckpoint(out);
  expect(released.step).toBe(source.step);
  expect(released.framing).toEqual(source.framing);
  const { tensors } = await readSafetensorsFile(released.modelFile);
  expect(Object.keys(tensors)).not.toContain(VIDEO_MATRIX);
  expect(new Set(Object.values(tensors).map((t) => t.dtype))).toEqual(new Set(['F16']));
  expect(summary.bytes).toBeLessThan(fs.statSync(source.modelFile).size * 0.55);

  // The same frame from both, up to float16's rounding.
  const [a, b] = [await loadMetaNetworks(source), await loadMetaNetworks(released)];
  const size = 64;
  const frames = tf.randomUniform([1, 2, size, size, 3], 0, 1, 'float32', 1) as tf.Tensor5D;
  const points = tf.randomUniform([1, 2, size, size, 3], 0, 1, 'float32', 2) as tf.Tensor5D;
  const target = tf.randomUniform([1, size, size, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
  const [ya, yb] = [a, b].map((n) =>
    n.generator.generate(target, n.embedder.embedVideo(frames, points)),
  );
  const gap = tf.max(tf.abs(tf.sub(ya!, yb!))).dataSync()[0]!;
  expect(gap).toBeGreaterThan(0);
  expect(gap).toBeLessThan(0.02);
  tf.dispose([frames, points, target, ya!, yb!]);
  [a, b].forEach((n) => Object.values(n).forEach((m) => m.dispose()));
});

test("a checkpoint opens with its config, framing and id; W is left out of a person's networks", async () => {
  const run = await makeUntrainedMetaCheckpoint(path.join(dir, 'c'), {
    imageSize: 64,
    seed: 3,
    videos: 7,
  });
  const meta = await openMetaCheckpoint(run);
  expect(meta.framing).toEqual({
    size: 64,
    crop: { scale: 1.8, offsetY: -0.1 },
    background: 'black',
  });
  expect(meta.id).toMatch(/^step-0-[0-9a-f]{12}$/);
  expect(meta.trainConfig.model.imageSize).toBe(64);
  const nets = await loadMetaNetworks(meta);
  // The checkpoint's W has 7 columns; a person's D holds a single unused one.
  expect(nets.discriminator.projectionMatrix.shape).toEqual([
    meta.trainConfig.model.embeddingSize,
    1,
  ]);
  Object.values(nets).forEach((n) => n.dispose());
});
