/**
 * @jest-environment ./test/helpers/hostTypedArraysEnvironment.js
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/select';
import { convWithBias } from '../../src/ops/convWithBias';
import { relativeError, runOnBackends, seededTensor } from '../helpers/compare';

// SNConv2D's conv-plus-bias: tf.fused.conv2d's values and gradients, with each input's gradient
// computed only where the tape needs it.

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
  "values and all three gradients equal tf.fused.conv2d's on %s",
  async (backend) => {
    const { x, w, b, r } = inputs();
    const run = (conv: (a: tf.Tensor4D, k: tf.Tensor4D, c: tf.Tensor1D) => tf.Tensor) => () => [
      conv(x, w, b),
      ...tf.grads((a: tf.Tensor, k: tf.Tensor, c: tf.Tensor) =>
        tf.sum(tf.mul(conv(a as tf.Tensor4D, k as tf.Tensor4D, c as tf.Tensor1D), r)),
      )([x, w, b]),
    ];
    const fused = run((a, k, c) =>
      tf.fused.conv2d({ x: a, filter: k, strides: 1, pad: 'same', bias: c }),
    );
    const [reference] = await runOnBackends([backend], fused);
    const [ours] = await runOnBackends([backend], run(convWithBias));
    ours!.forEach((values, i) => expect(relativeError(values, reference![i]!)).toBeLessThan(1e-6));
  },
);

test('the gradient matches central finite differences in x, the filter and the bias', async () => {
  await tf.setBackend('cpu');
  const x = seededTensor([1, 4, 3, 2], 5) as tf.Tensor4D;
  const w = seededTensor([3, 3, 2, 3], 6) as tf.Tensor4D;
  const b = seededTensor([3], 7) as tf.Tensor1D;
  const r = seededTensor([1, 4, 3, 3], 8);
  const f = (a: tf.Tensor, k: tf.Tensor, c: tf.Tensor) =>
    tf.sum(tf.mul(convWithBias(a as tf.Tensor4D, k as tf.Tensor4D, c as tf.Tensor1D), r));
  const analytic = tf
    .grads(f)([x, w, b])
    .map((g) => g.dataSync());
  const args = [x, w, b];
  const h = 1e-2;
  args.forEach((arg, which) => {
    const values = arg.dataSync();
    for (let i = 0; i < values.length; i += 3) {
      const at = (d: number) => {
        const v = Float32Array.from(values);
        v[i]! += d;
        const moved = args.map((t, j) => (j === which ? tf.tensor(v, t.shape) : t));
        return f(moved[0]!, moved[1]!, moved[2]!).dataSync()[0]!;
      };
      const numeric = (at(h) - at(-h)) / (2 * h);
      expect(Math.abs(analytic[which]![i]! - numeric)).toBeLessThan(
        2e-3 * Math.max(1, Math.abs(numeric)),
      );
    }
  });
});

test('no input gradient is computed where x needs none', async () => {
  await tf.setBackend('native');
  const { x, w, b, r } = inputs();
  const kernelsOf = async (conv: typeof convWithBias) =>
    (
      await tf.profile(() =>
        tf.grads((k: tf.Tensor, c: tf.Tensor) =>
          tf.sum(tf.mul(conv(x, k as tf.Tensor4D, c as tf.Tensor1D), r)),
        )([w, b]),
      )
    ).kernels.map((k) => k.name);
  const ours = await kernelsOf(convWithBias);
  expect(ours).toContain('Conv2DBackpropFilter');
  expect(ours).not.toContain('Conv2DBackpropInput');
  // What it replaces: tf.fused.conv2d's gradient computes dx all the same.
  const fused = await kernelsOf((a, k, c) =>
    tf.fused.conv2d({ x: a, filter: k, strides: 1, pad: 'same', bias: c }),
  );
  expect(fused).toContain('Conv2DBackpropInput');
  await tf.setBackend('cpu');
});

test('the tensor count stays flat across gradient steps', async () => {
  await tf.setBackend('native');
  const { x, w, b, r } = inputs();
  const step = () =>
    tf.tidy(() =>
      tf.grads((a: tf.Tensor, k: tf.Tensor) =>
        tf.sum(tf.mul(convWithBias(a as tf.Tensor4D, k as tf.Tensor4D, b), r)),
      )([x, w]),
    );
  step().forEach((g) => g.dispose());
  const count = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) step().forEach((g) => g.dispose());
  expect(tf.memory().numTensors).toBe(count);
  await tf.setBackend('cpu');
});
