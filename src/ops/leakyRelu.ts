import * as tf from '@tensorflow/tfjs';
import { LEAKY_RELU_GRAD, type LeakyReluGradAttrs } from '../backend/kernels/leakyReluGrad';
import { referenceOps } from './opsMode';

/**
 * tf.leakyRelu with its gradient as one fused kernel where the backend has one (native), else
 * tfjs's own formula: where(x > 0, dy, alpha dy). Same values and gradients either way; the
 * reference is tf.leakyRelu itself.
 */
export function leakyRelu<T extends tf.Tensor>(x: T, alpha: number): T {
  if (referenceOps()) return tf.leakyRelu(x, alpha);
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, save] = args as [tf.Tensor, tf.GradSaveFunc];
    // With alpha >= 0, y > 0 exactly where x > 0, so the gradient can read the output: the next
    // conv keeps y for its own gradient anyway, and x can go.
    const output = tf.leakyRelu(input, alpha);
    save([alpha >= 0 ? output : input]);
    return {
      value: output,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => leakyReluGradient(dy, saved[0]!, alpha),
    };
  });
  return op(x) as T;
}

/** dL/dx of leakyRelu from dL/dy; x may be the output instead where alpha >= 0 (same signs). */
export function leakyReluGradient(dy: tf.Tensor, x: tf.Tensor, alpha: number): tf.Tensor {
  if (tf.getKernel(LEAKY_RELU_GRAD, tf.getBackend()) == null)
    return tf.tidy(() => tf.where(tf.greater(x, 0), dy, tf.mul(dy, alpha)));
  const attrs: LeakyReluGradAttrs = { alpha };
  return tf
    .engine()
    .runKernel(LEAKY_RELU_GRAD, { dy, x }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
}
