import * as tf from '@tensorflow/tfjs';
import { detach } from '../ops/detach';

/** Mean absolute difference of two tensors of one shape, over all their elements: a scalar. */
export function meanAbsoluteError(a: tf.Tensor, b: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.abs(tf.sub(a, b))));
}

/**
 * Feature matching: the sum over the discriminator's residual blocks of the mean L1 distance
 * between real and fake activations. The real activations are targets: detached, so no gradient
 * reaches the discriminator through them.
 */
export function featureMatchingLoss(
  realFeatures: tf.Tensor[],
  fakeFeatures: tf.Tensor[],
): tf.Scalar {
  if (realFeatures.length !== fakeFeatures.length || realFeatures.length === 0) {
    throw new Error(
      `feature matching needs the same non-zero number of layers, got ${realFeatures.length} and ${fakeFeatures.length}`,
    );
  }
  return tf.tidy(() =>
    tf.addN(realFeatures.map((real, i) => meanAbsoluteError(detach(real), fakeFeatures[i]!))),
  );
}
