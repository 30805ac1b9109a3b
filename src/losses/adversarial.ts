import * as tf from '@tensorflow/tfjs';

/**
 * The discriminator's hinge loss: mean(max(0, 1 - r(x))) + mean(max(0, 1 + r(x̂))). Scores are
 * raw (no sigmoid: one port applied one, and its loss could never fall below 1).
 */
export function discriminatorHingeLoss(realScore: tf.Tensor1D, fakeScore: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() =>
    tf.add(tf.mean(tf.relu(tf.sub(1, realScore))), tf.mean(tf.relu(tf.add(1, fakeScore)))),
  );
}

/** The generator's adversarial term: -mean(r(x̂)). */
export function generatorAdversarialLoss(fakeScore: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => tf.neg(tf.mean(fakeScore)) as tf.Scalar);
}
