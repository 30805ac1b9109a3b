import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/select';
import { seededTensor } from '../helpers/compare';

/**
 * A linear map R and its gradient R^T must satisfy <R x, w> = <x, R^T w>. tfjs's shipped
 * ResizeBilinearGrad fails this with halfPixelCenters (and for non-square images); the
 * replacement registered by initBackend must pass on every backend it covers.
 */
const CASES = [
  { from: [5, 7], to: [9, 12], alignCorners: false, halfPixelCenters: true },
  { from: [5, 7], to: [9, 12], alignCorners: false, halfPixelCenters: false },
  { from: [6, 4], to: [3, 9], alignCorners: true, halfPixelCenters: false },
  { from: [8, 8], to: [16, 16], alignCorners: false, halfPixelCenters: true }, // the generator's 2x
  { from: [256, 256], to: [150, 150], alignCorners: false, halfPixelCenters: true },
] as const;

describe.each(['cpu', 'wasm'])(
  '%s ResizeBilinearGrad is the adjoint of ResizeBilinear',
  (backend) => {
    beforeAll(async () => {
      await initBackend({ backend });
    });
    test.each(CASES.map((c) => [JSON.stringify(c), c] as const))('%s', (_name, c) => {
      const x = seededTensor([2, ...c.from, 3], 1) as tf.Tensor4D;
      const w = seededTensor([2, ...c.to, 3], 2);
      const resize = (a: tf.Tensor) =>
        tf.image.resizeBilinear(
          a as tf.Tensor4D,
          [...c.to] as [number, number],
          c.alignCorners,
          c.halfPixelCenters,
        );
      const forward = tf.sum(tf.mul(resize(x), w)).dataSync()[0]!;
      const grad = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(resize(a), w)))(x);
      expect(grad.shape).toEqual(x.shape);
      const adjoint = tf.sum(tf.mul(x, grad)).dataSync()[0]!;
      expect(Math.abs(forward - adjoint)).toBeLessThan(1e-4 * Math.max(1, Math.abs(forward)));
    });
  },
);
