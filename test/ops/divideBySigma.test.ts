/**
 * @jest-environment ./test/helpers/hostTypedArraysEnvironment.js
 */
import * as tf from '@tensorflow/tfjs';
import { RANK_ONE_UPDATE } from '../../src/backend/kernels/rankOneUpdate';
import { initBackend } from '../../src/backend/select';
import { rankOneUpdate } from '../../src/ops/rankOneUpdate';
import { closedFormDivideBySigma, referenceDivideBySigma } from '../../src/ops/divideBySigma';
import { relativeError, runOnBackends, seededTensor } from '../helpers/compare';

// Spectral norm's W/σ with its closed-form gradient against the reference (tfjs's autodiff of
// the same formula), and the fused a·X + b·p·qᵀ kernel against tfjs ops.

beforeAll(async () => {
  await initBackend({ backend: 'native', threads: 1 });
});

afterAll(async () => {
  await tf.setBackend('cpu');
});

function inputs() {
  const w = seededTensor([3, 3, 6, 5], 1);
  const unit = (t: tf.Tensor) => tf.div(t, tf.norm(t));
  return {
    w,
    u: unit(seededTensor([5, 1], 2)) as tf.Tensor2D,
    v: unit(seededTensor([54, 1], 3)) as tf.Tensor2D,
    r: seededTensor([3, 3, 6, 5], 4),
  };
}

const sigmaOf = (w: tf.Tensor, u: tf.Tensor2D, v: tf.Tensor2D) =>
  tf.sum(tf.mul(v, tf.matMul(tf.reshape(w, [-1, 5]), u))) as tf.Scalar;

/** The closed form, σ's value given (as spectral norm passes it in). */
function closedForm(w: tf.Tensor, u: tf.Tensor2D, v: tf.Tensor2D): tf.Tensor {
  return closedFormDivideBySigma(
    w,
    u,
    v,
    tf.tidy(() => sigmaOf(w, u, v)),
  );
}

test.each(['cpu', 'native'])("values and gradient equal tfjs's autodiff on %s", async (backend) => {
  const { w, u, v, r } = inputs();
  const run = (f: typeof referenceDivideBySigma) => () => [
    f(w, u, v),
    tf.grad((t: tf.Tensor) => tf.sum(tf.mul(f(t, u, v), r)))(w),
  ];
  const [want] = await runOnBackends([backend], run(referenceDivideBySigma));
  const [got] = await runOnBackends([backend], run(closedForm));
  got!.forEach((values, i) => expect(relativeError(values, want![i]!)).toBeLessThan(1e-5));
});

test('the gradient matches central finite differences', async () => {
  await tf.setBackend('cpu');
  const { w, u, v, r } = inputs();
  const f = (t: tf.Tensor) => tf.sum(tf.mul(closedForm(t, u, v), r));
  const analytic = tf.grad(f)(w).dataSync();
  const values = w.dataSync();
  const h = 1e-2;
  for (let i = 0; i < values.length; i += 7) {
    const at = (d: number) => {
      const moved = Float32Array.from(values);
      moved[i]! += d;
      return f(tf.tensor(moved, w.shape)).dataSync()[0]!;
    };
    const numeric = (at(h) - at(-h)) / (2 * h);
    expect(Math.abs(analytic[i]! - numeric)).toBeLessThan(2e-3 * Math.max(1, Math.abs(numeric)));
  }
});

test.each([0, -0.7])('the native a·X + b·p·qᵀ kernel equals tfjs ops (b = %d)', async (b) => {
  const x = seededTensor([4, 3, 5], 5);
  const p = seededTensor([12], 6);
  const q = seededTensor([5], 7);
  const f = () => [rankOneUpdate(x, p, q, tf.scalar(1.3), tf.scalar(b))];
  const [onCpu, onNative] = await runOnBackends(['cpu', 'native'], f);
  expect(relativeError(onNative![0]!, onCpu![0]!)).toBeLessThan(1e-6);
  await tf.setBackend('native');
  const kernels = (await tf.profile(f)).kernels.map((k) => k.name);
  expect(kernels).toEqual([RANK_ONE_UPDATE]);
  expect(() => rankOneUpdate(x, seededTensor([11], 8), q, tf.scalar(1), tf.scalar(1))).toThrow(
    /is not p/,
  );
  await tf.setBackend('cpu');
});

test('without b it is a·x, on native and cpu', async () => {
  const x = seededTensor([4, 3, 5], 9);
  const f = () => [rankOneUpdate(x, seededTensor([12], 10), seededTensor([5], 11), tf.scalar(1.3))];
  const [onCpu, onNative] = await runOnBackends(['cpu', 'native'], f);
  const [want] = await runOnBackends(['cpu'], () => [tf.mul(x, 1.3)]);
  for (const got of [onCpu!, onNative!])
    expect(relativeError(got[0]!, want![0]!)).toBeLessThan(1e-6);
  await tf.setBackend('cpu');
});

test('the tensor count stays flat across gradient steps', async () => {
  await tf.setBackend('native');
  const { w, u, v, r } = inputs();
  const step = () =>
    tf.tidy(() => tf.grad((t: tf.Tensor) => tf.sum(tf.mul(closedForm(t, u, v), r)))(w));
  step().dispose();
  const count = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) step().dispose();
  expect(tf.memory().numTensors).toBe(count);
  await tf.setBackend('cpu');
});
