import * as tf from '@tensorflow/tfjs';
import type { EpisodeBatch } from '../data/episodes/sampler';
import type { RgbImage } from '../data/image';
import type { Embedder } from '../models/embedder';
import type { Generator } from '../models/generator';
import { imageGrid } from './tensorboard/eventWriter';

/** [0, 1] floats of one image -> 8-bit RGB. */
function toImage(pixels: tf.Tensor3D): RgbImage {
  const [height, width] = pixels.shape;
  const rgb = tf.tidy(() => tf.cast(tf.round(tf.mul(tf.clipByValue(pixels, 0, 1), 255)), 'int32'));
  const out = { rgb: Uint8Array.from(rgb.dataSync()), width, height };
  rgb.dispose();
  return out;
}

/**
 * A grid with one row per episode (the first `rows` of the batch): landmark image, real target
 * frame, generated frame (inference mode), for TensorBoard's image tab.
 */
export function sampleGrid(
  networks: { embedder: Embedder; generator: Generator },
  batch: EpisodeBatch,
  rows: number,
): RgbImage {
  const n = Math.min(rows, batch.plans.length);
  const generated = tf.tidy(() =>
    networks.generator.generate(
      batch.targetLandmarks,
      networks.embedder.embedVideo(batch.frames, batch.frameLandmarks),
    ),
  );
  try {
    const grid: RgbImage[][] = [];
    for (let b = 0; b < n; b++) {
      const pick = (t: tf.Tensor4D) =>
        tf.tidy(() => tf.squeeze(tf.slice(t, [b], [1]), [0]) as tf.Tensor3D);
      const images = [batch.targetLandmarks, batch.target, generated].map((t) => {
        const one = pick(t);
        const image = toImage(one);
        one.dispose();
        return image;
      });
      grid.push(images);
    }
    return imageGrid(grid);
  } finally {
    generated.dispose();
  }
}
