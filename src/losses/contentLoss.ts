import * as tf from '@tensorflow/tfjs';
import type { FeatureBackbone } from './backbones/backbone';
import { offTape } from '../ops/detach';
import { meanAbsoluteError } from './featureMatching';

/** One backbone's part of L_CNT: the mean L1 distance of its features at `layers`, weighted. */
export interface ContentTerm {
  backbone: FeatureBackbone;
  layers: readonly string[];
  weight: number;
}

/**
 * L_CNT = sum over terms of weight * sum over layers of mean|phi(x) - phi(x̂)|. Real features are
 * targets, computed off the tape (detached, and nothing kept for a backward pass); the backbones
 * are frozen, so the gradient reaches x̂ (and through it G and E) and never a backbone weight.
 */
export function contentLoss(
  real: tf.Tensor4D,
  fake: tf.Tensor4D,
  terms: readonly ContentTerm[],
): tf.Scalar {
  return tf.tidy(() => {
    const parts = terms.map(({ backbone, layers, weight }) => {
      const target = offTape(() => backbone.features(real, layers));
      const generated = backbone.features(fake, layers);
      const distance = tf.addN(layers.map((_, i) => meanAbsoluteError(target[i]!, generated[i]!)));
      return tf.mul(distance, weight);
    });
    return parts.length > 0 ? (tf.addN(parts) as tf.Scalar) : tf.scalar(0);
  });
}
