import * as tf from '@tensorflow/tfjs';
import type { Points } from './landmarks/points';
import { rasteriseLandmarks } from './landmarks/rasterise';

/**
 * Face frames (size x size RGB bytes) and their points -> the networks' inputs: frames in [0, 1]
 * and landmark images drawn as training drew them, each [count, size, size, 3].
 */
export function frameTensors(
  frames: readonly Uint8Array[],
  points: readonly Points[],
  size: number,
  background: 'black' | 'white',
): { frames: tf.Tensor4D; landmarks: tf.Tensor4D } {
  const count = frames.length;
  const image = size * size * 3;
  const pixels = new Float32Array(count * image);
  const landmarks = new Float32Array(count * image);
  frames.forEach((rgb, k) => {
    for (let i = 0; i < image; i++) pixels[k * image + i] = rgb[i]! / 255;
    rasteriseLandmarks(points[k]!, { size, background }, landmarks, k * image);
  });
  const shape: [number, number, number, number] = [count, size, size, 3];
  return { frames: tf.tensor4d(pixels, shape), landmarks: tf.tensor4d(landmarks, shape) };
}
