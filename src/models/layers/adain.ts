import * as tf from '@tensorflow/tfjs';
import { ModuleLayer, type Shape } from './moduleLayer';

/** Added to the variance before the square root: sqrt(var) has an infinite slope at 0. */
export const NORM_EPSILON = 1e-5;

/**
 * Per-sample, per-channel standardisation of an NHWC tensor over its spatial axes, with the
 * numerically safe std sqrt(var + eps): finite values and gradients even for a constant channel.
 */
export function instanceStandardize(x: tf.Tensor4D, epsilon = NORM_EPSILON): tf.Tensor4D {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, [1, 2], true);
    return tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, epsilon))) as tf.Tensor4D;
  });
}

/**
 * AdaIN(x; mean, std) = std * standardize(x) + mean, with mean and std of shape [batch,
 * channels]: each sample gets its own target statistics (from the embedding, via P or psi).
 */
export function adaptiveInstanceNorm(
  x: tf.Tensor4D,
  mean: tf.Tensor2D,
  std: tf.Tensor2D,
  epsilon = NORM_EPSILON,
): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, c] = mean.shape;
    const scale = tf.reshape(std, [b, 1, 1, c]);
    const shift = tf.reshape(mean, [b, 1, 1, c]);
    return tf.add(tf.mul(instanceStandardize(x, epsilon), scale), shift) as tf.Tensor4D;
  });
}

/** AdaIN as a layer: inputs [x, mean, std]. It has no weights. */
export class AdaIN extends ModuleLayer {
  static readonly className = 'AdaIN';

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const [x, mean, std] = inputs as [tf.Tensor4D, tf.Tensor2D, tf.Tensor2D];
    return adaptiveInstanceNorm(x, mean, std);
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return (inputShape as Shape[])[0]!;
  }
}
