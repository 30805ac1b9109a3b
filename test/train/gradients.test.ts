import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/select';
import { globalNorm } from '../../src/train/gradients';
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
