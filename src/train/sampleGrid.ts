import * as tf from '@tensorflow/tfjs';
import type { EpisodeBatch } from '../data/episodes/sampler';
import type { RgbImage } from '../data/image';
import { imageGrid } from '../data/imageLayout';
import type { Embedder } from '../models/embedder';
import type { Generator } from '../models/generator';

/** [0, 1] floats of one image -> 8-bit RGB. */
function toImage(pixels: tf.Tensor3D): RgbImage {
  const [height, width] = pixels.shape;
  const rgb = tf.tidy(() => tf.cast(tf.round(tf.mul(tf.clipByValue(pixels, 0, 1), 255)), 'int32'));
  const out = { rgb: Uint8Array.from(rgb.dataSync()), width, height };
  rgb.dispose();
  return out;
}

/**
 * A grid of the first `rows` samples of same-shaped [batch, h, w, 3] tensors in [0, 1], one
 * column per tensor (e.g. landmark image, real frame, generated frame).
 */
export function tensorGrid(columns: tf.Tensor4D[], rows: number): RgbImage {
  const n = Math.min(rows, columns[0]!.shape[0]);
  const grid: RgbImage[][] = [];
  for (let b = 0; b < n; b++) {
    grid.push(
      columns.map((t) => {
        const one = tf.tidy(() => tf.squeeze(tf.slice(t, [b], [1]), [0]) as tf.Tensor3D);
        const image = toImage(one);
        one.dispose();
        return image;
      }),
    );
  }
  return imageGrid(grid);
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
  const generated = tf.tidy(() =>
    networks.generator.generate(
      batch.targetLandmarks,
      networks.embedder.embedVideo(batch.frames, batch.frameLandmarks),
    ),
  );
  try {
    return tensorGrid([batch.targetLandmarks, batch.target, generated], rows);
  } finally {
    generated.dispose();
  }
}
