import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/select';
import { ssim, ssimKernel1d, SSIM_WINDOW } from '../../src/eval/ssim';
import { seededValues } from '../helpers/compare';

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});

/**
 * A second, independent formulation: the definition written out directly, window by window,
 * with the 2-D Gaussian weights, in float64 (no separable filtering, no tensors).
 */
function ssimByDefinition(
  a: Float64Array,
  b: Float64Array,
  h: number,
  w: number,
  c: number,
): number {
  const g = Array.from(ssimKernel1d());
  const C1 = 0.01 ** 2;
  const C2 = 0.03 ** 2;
  const n = SSIM_WINDOW;
  let total = 0;
  let count = 0;
  for (let y0 = 0; y0 + n <= h; y0++)
    for (let x0 = 0; x0 + n <= w; x0++)
      for (let ch = 0; ch < c; ch++) {
        let ma = 0,
          mb = 0;
        for (let i = 0; i < n; i++)
          for (let j = 0; j < n; j++) {
            const k = ((y0 + i) * w + (x0 + j)) * c + ch;
            ma += g[i]! * g[j]! * a[k]!;
            mb += g[i]! * g[j]! * b[k]!;
          }
        let va = 0,
          vb = 0,
          cov = 0;
        for (let i = 0; i < n; i++)
          for (let j = 0; j < n; j++) {
            const k = ((y0 + i) * w + (x0 + j)) * c + ch;
            const wt = g[i]! * g[j]!;
            va += wt * (a[k]! - ma) ** 2;
            vb += wt * (b[k]! - mb) ** 2;
            cov += wt * (a[k]! - ma) * (b[k]! - mb);
          }
        total +=
          ((2 * ma * mb + C1) * (2 * cov + C2)) / ((ma * ma + mb * mb + C1) * (va + vb + C2));
        count++;
      }
  return total / count;
}

const batchOf = (images: readonly Float32Array[], h: number, w: number) =>
  tf.tensor4d(Float32Array.from(images.flatMap((v) => Array.from(v))), [images.length, h, w, 3]);

test('the window is the normalised 11-tap Gaussian of sigma 1.5', () => {
  const g = ssimKernel1d();
  expect(g).toHaveLength(11);
  expect(g.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 6);
  expect(g[5]! / g[4]!).toBeCloseTo(Math.exp(1 / (2 * 1.5 * 1.5)), 5);
});

test('SSIM of an image with itself is 1', () => {
  const a = batchOf([seededValues(24 * 20 * 3, 1).map((v) => (v + 1) / 2)], 24, 20);
  expect(ssim(a, a).dataSync()[0]).toBeCloseTo(1, 6);
  a.dispose();
});

test('constant images give the closed form (2m(m+c) + C1) / (m^2 + (m+c)^2 + C1)', () => {
  const [h, w, m, c] = [16, 16, 0.5, 0.1];
  const a = tf.fill([1, h, w, 3], m) as tf.Tensor4D;
  const b = tf.fill([1, h, w, 3], m + c) as tf.Tensor4D;
  const C1 = 1e-4;
  const expected = (2 * m * (m + c) + C1) / (m * m + (m + c) ** 2 + C1);
  expect(ssim(a, b).dataSync()[0]).toBeCloseTo(expected, 5);
  expect(expected).toBeCloseTo(0.98361, 5);
  tf.dispose([a, b]);
});

test.each([
  ['independent noise', 0],
  ['a noisy copy', 0.8],
  ['an inverted copy', -0.9],
])('matches the window-by-window definition to 1e-3 on %s', (_name, mix) => {
  const [h, w] = [23, 19];
  const x = seededValues(h * w * 3, 7).map((v) => (v + 1) / 2);
  const noise = seededValues(h * w * 3, 8).map((v) => (v + 1) / 2);
  const y = x.map((v, i) => (mix >= 0 ? mix * v : mix * v + 0.9) + (1 - Math.abs(mix)) * noise[i]!);
  const a = batchOf([x, x], h, w);
  const b = batchOf([y, x], h, w);
  const batch = ssim(a, b);
  const [got, self] = batch.dataSync();
  const reference = ssimByDefinition(Float64Array.from(x), Float64Array.from(y), h, w, 3);
  expect(Math.abs(got! - reference)).toBeLessThan(1e-3);
  expect(self).toBeCloseTo(1, 5);
  tf.dispose([a, b, batch]);
});

test('leaves no tensors behind and refuses images smaller than the window', () => {
  const a = tf.zeros([2, 12, 12, 3]) as tf.Tensor4D;
  const before = tf.memory().numTensors;
  ssim(a, a).dispose();
  expect(tf.memory().numTensors).toBe(before);
  const small = tf.zeros([1, 10, 12, 3]) as tf.Tensor4D;
  expect(() => ssim(small, small)).toThrow(/at least 11 px/);
  tf.dispose([a, small]);
});
