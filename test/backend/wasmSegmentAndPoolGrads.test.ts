import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/select';
import { relativeError, runOnBackends, seededTensor, seededValues } from '../helpers/compare';

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});

describe('wasm UnsortedSegmentSum', () => {
  const cases: { name: string; xShape: number[]; ids: number[]; numSegments: number }[] = [
    { name: '1-D ids, rows of 4x3', xShape: [6, 4, 3], ids: [0, 2, 2, 1, 0, 3], numSegments: 4 },
    { name: 'out-of-range ids are dropped', xShape: [5, 2], ids: [-1, 1, 4, 1, 0], numSegments: 3 },
    { name: 'scalar rows', xShape: [7], ids: [6, 5, 4, 3, 2, 1, 0], numSegments: 8 },
  ];
  test.each(cases.map((c) => [c.name, c] as const))('%s matches cpu', async (_name, c) => {
    const [cpu, wasm] = await runOnBackends(['cpu', 'wasm'], () =>
      tf.unsortedSegmentSum(seededTensor(c.xShape, 4), tf.tensor1d(c.ids, 'int32'), c.numSegments),
    );
    expect(relativeError(wasm![0]!, cpu![0]!)).toBeLessThan(1e-6);
  });

  test('int32 values', async () => {
    const [cpu, wasm] = await runOnBackends(['cpu', 'wasm'], () =>
      tf.unsortedSegmentSum(
        tf.tensor(
          [
            [1, 2],
            [3, 4],
            [5, 6],
          ],
          undefined,
          'int32',
        ),
        tf.tensor1d([1, 1, 0], 'int32'),
        2,
      ),
    );
    expect(Array.from(wasm![0]!)).toEqual([5, 6, 4, 6]);
    expect(Array.from(wasm![0]!)).toEqual(Array.from(cpu![0]!));
  });

  test('the gradient of gather (embedding columns) matches cpu', async () => {
    const [cpu, wasm] = await runOnBackends(['cpu', 'wasm'], () => {
      const table = seededTensor([5, 8], 5);
      const weights = seededTensor([4, 8], 6);
      const grad = tf.grad((t: tf.Tensor) =>
        tf
          .gather(t, tf.tensor1d([3, 0, 3, 1], 'int32'))
          .mul(weights)
          .sum(),
      );
      return grad(table);
    });
    expect(relativeError(wasm![0]!, cpu![0]!)).toBeLessThan(1e-6);
    // Row 3 is gathered twice, so its gradient is the sum of two weight rows.
    expect(Math.max(...wasm![0]!.map(Math.abs))).toBeGreaterThan(0);
  });
});

describe('wasm MaxPoolGrad', () => {
  const inputsBySign = {
    'all negative': (n: number) => seededValues(n, 7).map((v) => -1 - Math.abs(v)),
    mixed: (n: number) => seededValues(n, 8),
    'ties (quantised)': (n: number) => seededValues(n, 9).map((v) => Math.round(v * 2) / 2),
  };
  const cases: { filter: number; stride: number; pad: 'same' | 'valid' }[] = [];
  for (const filter of [2, 3])
    for (const stride of [1, 2])
      for (const pad of ['same', 'valid'] as const) cases.push({ filter, stride, pad });

  for (const [kind, make] of Object.entries(inputsBySign)) {
    test.each(
      cases.map((c) => [`${kind}, ${c.filter}x${c.filter} s${c.stride} ${c.pad}`, c] as const),
    )('%s matches cpu', async (_name, c) => {
      const shape: [number, number, number, number] = [2, 7, 6, 3];
      const values = make(2 * 7 * 6 * 3);
      const [cpu, wasm] = await runOnBackends(['cpu', 'wasm'], () => {
        const grad = tf.grad((x: tf.Tensor) =>
          tf.maxPool(x as tf.Tensor4D, c.filter, c.stride, c.pad).sum(),
        );
        const weighted = tf.grad((x: tf.Tensor) => {
          const pooled = tf.maxPool(x as tf.Tensor4D, c.filter, c.stride, c.pad);
          return pooled.mul(seededTensor(pooled.shape, 10)).sum();
        });
        const x = tf.tensor(values, shape);
        return [grad(x), weighted(x)];
      });
      expect(relativeError(wasm![0]!, cpu![0]!)).toBeLessThan(1e-6);
      expect(relativeError(wasm![1]!, cpu![1]!)).toBeLessThan(1e-6);
      // Every window routes its unit gradient to one input: the total is the output count.
      const outputs = tf.tidy(
        () => tf.maxPool(tf.zeros(shape) as tf.Tensor4D, c.filter, c.stride, c.pad).size,
      );
      expect(wasm![0]!.reduce((a, b) => a + b, 0)).toBeCloseTo(outputs, 3);
    });
  }
});
