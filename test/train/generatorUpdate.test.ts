import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/select';
import { generatorUpdate } from '../../src/train/generatorUpdate';

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
});

/** Two "networks" of one variable each; SGD at rate 1, so a step is minus the applied gradient. */
function setUp() {
  const a = tf.variable(tf.tensor1d([3, 4]));
  const b = tf.variable(tf.tensor1d([0.1, 0.2]));
  const optimizer = tf.train.sgd(1);
  // d/da of 10·sum(a²)/2 is 10a: norm 50; d/db of sum(b²)/2 is b: norm about 0.22.
  const objective = () => ({
    big: tf.mul(tf.sum(tf.square(a)), 5) as tf.Scalar,
    small: tf.mul(tf.sum(tf.square(b)), 0.5) as tf.Scalar,
  });
  const dispose = () => {
    tf.dispose([a, b]);
    optimizer.dispose();
  };
  return { a, b, optimizer, objective, dispose };
}

test('each network is clipped on its own: one spike never shrinks the other step', () => {
  const { a, b, optimizer, objective, dispose } = setUp();
  const update = generatorUpdate(optimizer, { first: [a], second: [b] }, 1, objective);
  expect(update.nonFinite).toBeUndefined();
  expect(update.losses.big).toBeCloseTo(125, 4);
  expect(update.losses.small).toBeCloseTo(0.025, 6);
  expect(update.losses.total).toBeCloseTo(125.025, 3);
  expect(update.gradientNorms.first).toBeCloseTo(50, 4);
  expect(update.gradientNorms.second).toBeCloseTo(Math.hypot(0.1, 0.2), 6);
  // a's gradient (30, 40) scaled to norm 1; b's applied whole.
  const [a0, a1] = a.dataSync();
  expect(a0).toBeCloseTo(3 - 0.6, 5);
  expect(a1).toBeCloseTo(4 - 0.8, 5);
  expect(Array.from(b.dataSync())).toEqual([0, 0]);
  dispose();
});

test('a non-finite term applies nothing, names the term and leaks no tensor', () => {
  const { a, b, optimizer, objective, dispose } = setUp();
  generatorUpdate(optimizer, { first: [a], second: [b] }, undefined, objective); // optimizer state
  const before = [Array.from(a.dataSync()), Array.from(b.dataSync())];
  const tensors = tf.memory().numTensors;
  const update = generatorUpdate(optimizer, { first: [a], second: [b] }, undefined, () => ({
    ...objective(),
    poisoned: tf.scalar(Number.NaN),
  }));
  expect(update.nonFinite).toBe('poisoned');
  expect(update.gradientNorms).toEqual({ first: 0, second: 0 });
  expect([Array.from(a.dataSync()), Array.from(b.dataSync())]).toEqual(before);
  expect(tf.memory().numTensors).toBe(tensors);
  dispose();
});

test('a finite loss with a non-finite gradient applies nothing', () => {
  const { a, b, optimizer, objective, dispose } = setUp();
  const c = tf.variable(tf.tensor1d([0, 1]));
  const before = [a, b, c].map((v) => Array.from(v.dataSync()));
  // sqrt at 0: the value is 0, its gradient infinite.
  const update = generatorUpdate(optimizer, { first: [a, c], second: [b] }, 1, () => ({
    ...objective(),
    root: tf.sum(tf.sqrt(c)) as tf.Scalar,
  }));
  expect(Number.isFinite(update.losses.total)).toBe(true);
  expect(update.nonFinite).toBe('gradient');
  expect([a, b, c].map((v) => Array.from(v.dataSync()))).toEqual(before);
  c.dispose();
  dispose();
});
