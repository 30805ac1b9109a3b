import * as tf from '@tensorflow/tfjs';
import { meanAbsoluteError } from './featureMatching';

/**
 * L_MCH: the mean L1 distance between the embeddings ê_i ([batch, d]) and the discriminator's
 * columns W_i of the same videos ([batch, d]). It trains both E and W (no detach on either side).
 */
export function embeddingMatchLoss(embeddings: tf.Tensor2D, videoColumns: tf.Tensor2D): tf.Scalar {
  return meanAbsoluteError(embeddings, videoColumns);
}
