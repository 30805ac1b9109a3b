import * as tf from '@tensorflow/tfjs';
import type { Points } from './landmarks/points';
import { rasteriseLandmarks } from './landmarks/rasterise';

/** 8-bit RGB frames (size x size) -> [count, size, size, 3] in [0, 1], as the networks take them. */
export function pixelTensor(frames: readonly Uint8Array[], size: number): tf.Tensor4D {
  const image = size * size * 3;
  const pixels = new Float32Array(frames.length * image);
  frames.forEach((rgb, k) => {
    for (let i = 0; i < image; i++) pixels[k * image + i] = rgb[i]! / 255;
  });
  return tf.tensor4d(pixels, [frames.length, size, size, 3]);
}

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
  const image = size * size * 3;
  const landmarks = new Float32Array(frames.length * image);
  frames.forEach((_, k) =>
    rasteriseLandmarks(points[k]!, { size, background }, landmarks, k * image),
  );
  return {
    frames: pixelTensor(frames, size),
    landmarks: tf.tensor4d(landmarks, [frames.length, size, size, 3]),
  };
}
