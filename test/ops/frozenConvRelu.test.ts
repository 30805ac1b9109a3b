/**
 * @jest-environment ./test/helpers/hostTypedArraysEnvironment.js
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/select';
import { frozenConvRelu, referenceFrozenConvRelu } from '../../src/ops/frozenConvRelu';
import { variableGrads } from '../../src/ops/variableGrads';
import { relativeError, runOnBackends, seededTensor } from '../helpers/compare';

// L_CNT's VGG layers: relu(conv + bias) with frozen weights, one fused kernel forward and a
// gradient to the input alone, against conv2d, add and relu differentiated by tfjs.

beforeAll(async () => {
  await initBackend({ backend: 'native', threads: 1 });
});

afterAll(async () => {
  await tf.setBackend('cpu');
});

function inputs() {
  return {
    x: seededTensor([2, 9, 8, 5], 1) as tf.Tensor4D,
    w: seededTensor([3, 3, 5, 7], 2) as tf.Tensor4D,
    b: seededTensor([7], 3) as tf.Tensor1D,
    r: seededTensor([2, 9, 8, 7], 4),
  };
}

test.each(['cpu', 'native'])(
  "values and x's gradient equal the reference's on %s",
  async (backend) => {
    const { x, w, b, r } = inputs();
    const run = (op: typeof frozenConvRelu) => () => [
      op(x, w, b),
      tf.grad((a: tf.Tensor) => tf.sum(tf.mul(op(a as tf.Tensor4D, w, b), r)))(x),
    ];
    const [reference] = await runOnBackends([backend], run(referenceFrozenConvRelu));
    const [ours] = await runOnBackends([backend], run(frozenConvRelu));
    // Some pre-activations are negative, some positive: the mask is exercised both ways.
    const y = reference![0]!;
    expect(Array.from(y).some((v) => v === 0)).toBe(true);
    expect(Array.from(y).some((v) => v > 0)).toBe(true);
    ours!.forEach((values, i) => expect(relativeError(values, reference![i]!)).toBeLessThan(1e-6));
  },
);

test("x's gradient matches central finite differences", async () => {
  await tf.setBackend('cpu');
  const x = seededTensor([1, 4, 3, 2], 5) as tf.Tensor4D;
  const w = seededTensor([3, 3, 2, 3], 6) as tf.Tensor4D;
  const b = seededTensor([3], 7) as tf.Tensor1D;
  const r = seededTensor([1, 4, 3, 3], 8);
  const f = (a: tf.Tensor) => tf.sum(tf.mul(frozenConvRelu(a as tf.Tensor4D, w, b), r));
  const analytic = tf.grad(f)(x).dataSync();
  const values = x.dataSync();
  const h = 1e-3;
  let checked = 0;
  for (let i = 0; i < values.length; i++) {
    const at = (d: number) => {
      const v = Float32Array.from(values);
      v[i]! += d;
      return f(tf.tensor(v, x.shape)).dataSync()[0]!;
    };
    const numeric = (at(h) - at(-h)) / (2 * h);
    expect(Math.abs(analytic[i]! - numeric)).toBeLessThan(2e-3 * Math.max(1, Math.abs(numeric)));
    checked++;
  }
  expect(checked).toBe(values.length);
});

test('no gradient reaches the filter or the bias, even as variables', async () => {
  await tf.setBackend('native');
  const { x, w, b, r } = inputs();
  const filter = tf.variable(w);
  const bias = tf.variable(b);
  const input = tf.variable(x);
  const { value, grads } = variableGrads(
    () => tf.sum(tf.mul(frozenConvRelu(input, filter, bias), r)),
    [input, filter, bias],
  );
  expect(Object.keys(grads)).toEqual([input.name]);
  // The reference would give them one: the difference is the op's, not the harness's.
  const { value: referenceValue, grads: referenceGrads } = variableGrads(
    () => tf.sum(tf.mul(referenceFrozenConvRelu(input, filter, bias), r)),
    [input, filter, bias],
  );
  expect(Object.keys(referenceGrads).sort()).toEqual([input.name, filter.name, bias.name].sort());
  tf.dispose([
    value,
    referenceValue,
    filter,
    bias,
    input,
    ...Object.values(grads),
    ...Object.values(referenceGrads),
  ]);
  await tf.setBackend('cpu');
});

test('forward is one fused kernel; backward computes no filter gradient', async () => {
  await tf.setBackend('native');
  // Large enough for native's own conv (smaller ones go to the cpu kernel, which unfuses).
  const x = seededTensor([2, 16, 16, 8], 1) as tf.Tensor4D;
  const w = seededTensor([3, 3, 8, 8], 2) as tf.Tensor4D;
  const b = seededTensor([8], 3) as tf.Tensor1D;
  const r = seededTensor([2, 16, 16, 8], 4);
  // tf.profile lists customGrad's and tf.fused's wrappers too: only the kernels count.
  const kernels = (names: string[]) => names.filter((n) => tf.getKernel(n, 'native') != null);
  const forward = kernels(
    (await tf.profile(() => frozenConvRelu(x, w, b))).kernels.map((k) => k.name),
  );
  expect(forward).toEqual(['FusedConv2D']);
  const profiled = await tf.profile(() =>
    tf.grad((a: tf.Tensor) => tf.sum(tf.mul(frozenConvRelu(a as tf.Tensor4D, w, b), r)))(x),
  );
  const both = kernels(profiled.kernels.map((k) => k.name));
  expect(both).toContain('Conv2DBackpropInput');
  expect(both).not.toContain('Conv2DBackpropFilter');
  expect(both).not.toContain('Relu');
  expect(both).not.toContain('Add');
  await tf.setBackend('cpu');
});

test('the tensor count stays flat across gradient steps', async () => {
  await tf.setBackend('native');
  const { x, w, b, r } = inputs();
  const step = () =>
    tf.tidy(() =>
      tf.grad((a: tf.Tensor) => tf.sum(tf.mul(frozenConvRelu(a as tf.Tensor4D, w, b), r)))(x),
    );
  step().dispose();
  const count = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) step().dispose();
  expect(tf.memory().numTensors).toBe(count);
  await tf.setBackend('cpu');
});
