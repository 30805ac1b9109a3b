/**
 * @jest-environment ./test/helpers/hostTypedArraysEnvironment.js
 */
import * as tf from '@tensorflow/tfjs';
import { LEAKY_RELU_GRAD } from '../../src/backend/kernels/leakyReluGrad';
import { initBackend } from '../../src/backend/select';
import { leakyRelu } from '../../src/ops/leakyRelu';
import { runOnBackends, seededTensor } from '../helpers/compare';

// The models' leakyRelu: tf.leakyRelu's values, and tfjs's own gradient, with the gradient as
// one fused kernel on native and tfjs's formula elsewhere.

const ALPHA = 0.2;

beforeAll(async () => {
  await initBackend({ backend: 'native', threads: 1 });
});

afterAll(async () => {
  await tf.setBackend('cpu');
});

/** Inputs with exact zeros (the gradient takes alpha there, as tfjs's does) and both signs. */
function inputs(): { x: tf.Tensor; r: tf.Tensor } {
  const x = tf.round(tf.mul(seededTensor([2, 40, 40, 16], 1), 4));
  return { x: tf.div(x, 4), r: seededTensor([2, 40, 40, 16], 2) };
}

test("values and gradients equal tf.leakyRelu's on native (fused) and cpu", async () => {
  const { x, r } = inputs();
  const loss = (f: (t: tf.Tensor) => tf.Tensor) => (t: tf.Tensor) => tf.sum(tf.mul(f(t), r));
  const ours = () => [leakyRelu(x, ALPHA), tf.grad(loss((t) => leakyRelu(t, ALPHA)))(x)];
  const tfjs = () => [tf.leakyRelu(x, ALPHA), tf.grad(loss((t) => tf.leakyRelu(t, ALPHA)))(x)];
  const [reference] = await runOnBackends(['cpu'], tfjs);
  const [onCpu, onNative] = await runOnBackends(['cpu', 'native'], ours);
  for (const got of [onCpu!, onNative!])
    got.forEach((values, i) => expect(Array.from(values)).toEqual(Array.from(reference![i]!)));
  await tf.setBackend('native');
  const profile = await tf.profile(() => tf.grad(loss((t) => leakyRelu(t, ALPHA)))(x));
  const names = profile.kernels.map((k) => k.name);
  expect(names).toContain(LEAKY_RELU_GRAD);
  expect(names).not.toContain('Select');
  await tf.setBackend('cpu');
});

test('the gradient matches central finite differences', async () => {
  await tf.setBackend('native');
  const x = tf.tensor1d([-1.5, -0.3, 0.4, 2.0]);
  const r = tf.tensor1d([0.7, -1.1, 0.5, 1.3]);
  const f = (t: tf.Tensor) => tf.sum(tf.mul(leakyRelu(t, ALPHA), r));
  const analytic = tf.grad(f)(x).dataSync();
  const h = 1e-3;
  const xs = x.dataSync();
  for (let i = 0; i < xs.length; i++) {
    const shifted = (d: number) => {
      const v = Float32Array.from(xs);
      v[i]! += d;
      return f(tf.tensor1d(v)).dataSync()[0]!;
    };
    const numeric = (shifted(h) - shifted(-h)) / (2 * h);
    expect(Math.abs(analytic[i]! - numeric)).toBeLessThan(1e-3);
  }
  await tf.setBackend('cpu');
});

test('the tensor count stays flat across gradient steps', async () => {
  await tf.setBackend('native');
  const { x, r } = inputs();
  const step = () =>
    tf.tidy(() => tf.grad((t: tf.Tensor) => tf.sum(tf.mul(leakyRelu(t, ALPHA), r)))(x));
  step().dispose();
  const count = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) step().dispose();
  expect(tf.memory().numTensors).toBe(count);
  await tf.setBackend('cpu');
});

test.each([0, -0.5])(
  "at alpha %p too (the gradient reads x, not y, where their signs differ), tfjs's gradient",
  async (alpha) => {
    const { x, r } = inputs();
    const grad = (f: (t: tf.Tensor) => tf.Tensor) => () => [
      tf.grad((t: tf.Tensor) => tf.sum(tf.mul(f(t), r)))(x),
    ];
    const [reference] = await runOnBackends(
      ['cpu'],
      grad((t) => tf.leakyRelu(t, alpha)),
    );
    const [onCpu, onNative] = await runOnBackends(
      ['cpu', 'native'],
      grad((t) => leakyRelu(t, alpha)),
    );
    for (const got of [onCpu!, onNative!])
      expect(Array.from(got[0]!)).toEqual(Array.from(reference![0]!));
  },
);

test('the tape keeps the output (the data the next conv keeps), not the input', async () => {
  await tf.setBackend('native');
  const x = seededTensor([2, 40, 40, 16], 3);
  const r = seededTensor([2, 40, 40, 16], 4);
  const kept: { saved: tf.DataId[]; input: tf.DataId; output: tf.DataId }[] = [];
  const g = tf.grad((t: tf.Tensor) => {
    const h = tf.mul(t, 2);
    const y = leakyRelu(h, ALPHA);
    const tape = (tf.engine().state as unknown as { activeTape: { saved?: tf.Tensor[] }[] })
      .activeTape;
    const saved = tape[tape.length - 1]!.saved ?? [];
    kept.push({ saved: saved.map((s) => s.dataId), input: h.dataId, output: y.dataId });
    return tf.sum(tf.mul(y, r));
  })(x);
  expect(kept).toHaveLength(1);
  expect(kept[0]!.saved).toEqual([kept[0]!.output]);
  expect(kept[0]!.saved).not.toContain(kept[0]!.input);
  tf.dispose([g, x, r]);
  await tf.setBackend('cpu');
});
