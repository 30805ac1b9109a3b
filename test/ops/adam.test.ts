/**
 * @jest-environment ./test/helpers/hostTypedArraysEnvironment.js
 */
import * as tf from '@tensorflow/tfjs';
import { ADAM_UPDATE } from '../../src/backend/kernels/adamUpdate';
import { initBackend } from '../../src/backend/select';
import { adamOptimizer } from '../../src/ops/adam';
import { relativeError } from '../helpers/compare';

// The fused Adam must be tfjs's Adam: same values, same moments, same saved state, on the
// native backend (one kernel per variable) and elsewhere (tfjs's own ops).

const SETTINGS = { learningRate: 1e-2, beta1: 0.5, beta2: 0.999, epsilon: 1e-8 };
const SHAPES = [[3, 3, 8, 16], [16], [40000]];

beforeAll(async () => {
  await initBackend({ backend: 'native', threads: 1 });
});

afterAll(async () => {
  await tf.setBackend('cpu');
});

/** Three Adam steps on seeded variables with varying gradients; the values and moments after. */
async function run(optimizer: tf.Optimizer, steps = 3): Promise<Float32Array[]> {
  const vars = SHAPES.map((s, i) => tf.variable(tf.randomNormal(s, 0, 1, 'float32', i + 1)));
  for (let step = 0; step < steps; step++) {
    const grads = vars.map((v, i) => ({
      name: v.name,
      tensor: tf.randomNormal(v.shape, 0, 1 + step, 'float32', 100 * step + i + 1),
    }));
    optimizer.applyGradients(grads);
    tf.dispose(grads.map((g) => g.tensor));
  }
  const weights = await optimizer.getWeights();
  const out = [...vars, ...weights.slice(1).map((w) => w.tensor)].map(
    (t) => t.dataSync() as Float32Array,
  );
  tf.dispose(vars);
  optimizer.dispose();
  return out;
}

test('on native, one fused kernel per variable, matching tfjs Adam', async () => {
  await tf.setBackend('native');
  const reference = await run(tf.train.adam(0.01, 0.5, 0.999, 1e-8));
  let fused: Float32Array[] = [];
  const profile = await tf.profile(async () => {
    fused = await run(adamOptimizer(SETTINGS));
  });
  const names = profile.kernels.map((k) => k.name);
  expect(names.filter((n) => n === ADAM_UPDATE)).toHaveLength(3 * SHAPES.length);
  expect(names).not.toContain('Sqrt');
  expect(fused).toHaveLength(3 * SHAPES.length);
  for (let i = 0; i < fused.length; i++)
    expect(relativeError(fused[i]!, reference[i]!)).toBeLessThan(1e-5);
});

test('elsewhere, tfjs Adam itself', async () => {
  await tf.setBackend('cpu');
  const reference = await run(tf.train.adam(0.01, 0.5, 0.999, 1e-8));
  const fused = await run(adamOptimizer(SETTINGS));
  fused.forEach((values, i) => expect(Array.from(values)).toEqual(Array.from(reference[i]!)));
});

test('saved and restored mid-run, it continues as an unbroken run does', async () => {
  await tf.setBackend('native');
  const unbroken = await run(adamOptimizer(SETTINGS), 2);
  const vars = SHAPES.map((s, i) => tf.variable(tf.randomNormal(s, 0, 1, 'float32', i + 1)));
  const grads = (step: number) =>
    vars.map((v, i) => ({
      name: v.name,
      tensor: tf.randomNormal(v.shape, 0, 1 + step, 'float32', 100 * step + i + 1),
    }));
  const first = adamOptimizer(SETTINGS);
  first.applyGradients(grads(0));
  const saved = await first.getWeights();
  const second = adamOptimizer(SETTINGS);
  await second.setWeights(saved.map((w) => ({ name: w.name, tensor: w.tensor.clone() })));
  first.dispose();
  second.applyGradients(grads(1));
  vars.forEach((v, i) =>
    expect(relativeError(v.dataSync() as Float32Array, unbroken[i]!)).toBeLessThan(1e-6),
  );
  tf.dispose(vars);
  second.dispose();
});

test('the tensor count stays flat across steps', async () => {
  await tf.setBackend('native');
  const v = tf.variable(tf.ones([1000]));
  const optimizer = adamOptimizer(SETTINGS);
  const g = tf.ones([1000]);
  optimizer.applyGradients([{ name: v.name, tensor: g }]);
  const count = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) optimizer.applyGradients([{ name: v.name, tensor: g }]);
  expect(tf.memory().numTensors).toBe(count);
  tf.dispose([v, g]);
  optimizer.dispose();
});
