import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/select';
import { clipNetworkGradients, globalNorm } from '../../src/train/gradients';
import { seededValues } from '../helpers/compare';

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
});

test('globalNorm is the square root of the sum of every squared gradient value', () => {
  const shapes = [[3, 3, 4, 5], [7], [], [0, 3], [300, 300]];
  const values = shapes.map((s, i) =>
    seededValues(
      s.reduce((a, b) => a * b, 1),
      i + 1,
    ),
  );
  let sum = 0;
  for (const v of values) for (const x of v) sum += x * x;
  const grads = values.map((v, i) => tf.tensor(v, shapes[i]));
  // float32 sums: to 1e-5 relative.
  expect(Math.abs(globalNorm(grads) / Math.sqrt(sum) - 1)).toBeLessThan(1e-5);
  expect(globalNorm([])).toBe(0);
  tf.dispose(grads);
});

test("clipNetworkGradients scales one network's gradients to the clip norm and leaves the others", () => {
  const a = tf.variable(tf.zeros([2]), true, 'clip-a');
  const b = tf.variable(tf.zeros([1]), true, 'clip-b');
  const c = tf.variable(tf.zeros([1]), true, 'clip-c');
  const grads: Record<string, tf.Tensor> = {
    [a.name]: tf.tensor1d([3, 4]),
    [b.name]: tf.tensor1d([12]),
    [c.name]: tf.tensor1d([7]),
  };
  // Network {a, b} has norm 13: scaled by 1/13 to norm 1; c is another network's.
  clipNetworkGradients(grads, [a, b], 1, 13);
  const scaled = grads[a.name]!.dataSync();
  [3 / 13, 4 / 13].forEach((v, i) => expect(scaled[i]).toBeCloseTo(v, 6));
  expect(grads[b.name]!.dataSync()[0]).toBeCloseTo(12 / 13, 6);
  expect(grads[c.name]!.dataSync()[0]).toBe(7);
  // Under the clip, or no clip: untouched.
  const before = grads[c.name]!;
  clipNetworkGradients(grads, [c], 10, 7);
  clipNetworkGradients(grads, [c], undefined, 7);
  expect(grads[c.name]).toBe(before);
  tf.dispose([...Object.values(grads), a, b, c]);
});
