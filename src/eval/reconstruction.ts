import * as tf from '@tensorflow/tfjs';
import type { RgbImage } from '../data/image';
import type { Points } from '../data/landmarks/points';
import { frameTensors } from '../data/frameTensors';
import { contentLoss, type ContentTerm } from '../losses/contentLoss';
import type { Generator } from '../models/generator';

export interface ReconstructionError {
  /** Mean absolute pixel error, pixels in [0, 1]. */
  l1: number;
  /** L_CNT between real and generated frames with the given terms (weights as given). */
  perceptual: number;
}

/**
 * Self-reenactment error of a person's generator (fine-tuning mode) on frames of that person:
 * each frame is generated from its own landmarks and compared with the real one. Averaged over
 * batches of `batch` frames.
 */
export function reconstructionError(
  generator: Generator,
  frames: readonly RgbImage[],
  points: readonly Points[],
  options: { background: 'black' | 'white'; contentTerms: readonly ContentTerm[]; batch?: number },
): ReconstructionError {
  const size = generator.config.imageSize;
  const batch = options.batch ?? 8;
  let l1 = 0;
  let perceptual = 0;
  for (let first = 0; first < frames.length; first += batch) {
    const count = Math.min(batch, frames.length - first);
    const [a, b] = tf.tidy(() => {
      const { frames: real, landmarks } = frameTensors(
        frames.slice(first, first + count).map((f) => f.rgb),
        points.slice(first, first + count),
        size,
        options.background,
      );
      const generated = generator.generate(landmarks);
      return [
        tf.mean(tf.abs(tf.sub(generated, real))).dataSync()[0]!,
        contentLoss(real, generated, options.contentTerms).dataSync()[0]!,
      ];
    });
    l1 += a! * count;
    perceptual += b! * count;
  }
  return { l1: l1 / frames.length, perceptual: perceptual / frames.length };
}
