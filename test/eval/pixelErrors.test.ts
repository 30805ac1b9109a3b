import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/select';
import { perImageMeanAbsoluteError, psnr, PSNR_CAP_DB } from '../../src/eval/pixelErrors';

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});

test('L1 and PSNR of a uniform offset have their closed forms', () => {
  const a = tf.fill([2, 8, 8, 3], 0.25) as tf.Tensor4D;
  const b = tf.concat([tf.fill([1, 8, 8, 3], 0.35), tf.fill([1, 8, 8, 3], 0.25)]) as tf.Tensor4D;
  expect(Array.from(perImageMeanAbsoluteError(a, b).dataSync())).toEqual([
    expect.closeTo(0.1, 6),
    0,
  ]);
  // MSE 0.01 -> 20 dB; identical -> the cap
  const db = psnr(a, b).dataSync();
  expect(db[0]).toBeCloseTo(20, 4);
  expect(db[1]).toBe(PSNR_CAP_DB);
  tf.dispose([a, b]);
});

test('PSNR of a half-range error on a quarter of the pixels', () => {
  const a = tf.zeros([1, 4, 4, 1]) as tf.Tensor4D;
  const mask = new Float32Array(16);
  mask.fill(0.5, 0, 4);
  const b = tf.tensor4d(mask, [1, 4, 4, 1]);
  // MSE = 0.25 / 4 -> 10 log10(16) = 12.04 dB
  expect(psnr(a, b).dataSync()[0]).toBeCloseTo(10 * Math.log10(16), 4);
  tf.dispose([a, b]);
});
