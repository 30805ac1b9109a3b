import * as tf from '@tensorflow/tfjs';
import { referenceOps } from './opsMode';
import { dotProduct, rankOneUpdate } from './rankOneUpdate';

/**
 * W / σ with σ = vᵀ·W·u (W read as [fanIn, out]; u [out, 1] and v [fanIn, 1] constants for the
 * gradient), differentiable in W. `sigma` is σ's value as the caller already has it (a power
 * iteration gives it without another pass over W); the reference computes it from W instead.
 */
export function divideBySigma(
  w: tf.Tensor,
  u: tf.Tensor2D,
  v: tf.Tensor2D,
  sigma: tf.Scalar,
): tf.Tensor {
  return referenceOps() ? referenceDivideBySigma(w, u, v) : closedFormDivideBySigma(w, u, v, sigma);
}

/** W / (vᵀ·W·u), tfjs's autodiff giving the gradient through both the division and σ. */
export function referenceDivideBySigma(w: tf.Tensor, u: tf.Tensor2D, v: tf.Tensor2D): tf.Tensor {
  return tf.tidy(() => {
    const out = w.shape[w.shape.length - 1]!;
    const sigma = tf.sum(tf.mul(v, tf.matMul(tf.reshape(w, [-1, out]), u)));
    return tf.div(w, sigma);
  });
}

/**
 * W / σ with its gradient in closed form, dW = dŴ/σ − (⟨dŴ, W⟩/σ²)·v·uᵀ: one dot product and
 * one fused pass, where autodiff of the reference makes six weight-sized passes.
 */
export function closedFormDivideBySigma(
  w: tf.Tensor,
  u: tf.Tensor2D,
  v: tf.Tensor2D,
  sigma: tf.Scalar,
): tf.Tensor {
  // u, v and σ go in as inputs, so that the tape keeps them for the gradient (they get none).
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [weights, left, right, s, save] = args as [
      tf.Tensor,
      tf.Tensor2D,
      tf.Tensor2D,
      tf.Scalar,
      tf.GradSaveFunc,
    ];
    save([weights, left, right, s]);
    return {
      value: rankOneUpdate(weights, right, left, tf.div(1, s) as tf.Scalar),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [kept, u0, v0, s0] = saved as [tf.Tensor, tf.Tensor2D, tf.Tensor2D, tf.Scalar];
        const dw = tf.tidy(() => {
          const b = tf.neg(tf.div(dotProduct(dy, kept), tf.square(s0))) as tf.Scalar;
          return rankOneUpdate(dy, v0, u0, tf.div(1, s0) as tf.Scalar, b);
        });
        return [dw, tf.zerosLike(u0), tf.zerosLike(v0), tf.zerosLike(s0)];
      },
    };
  });
  return op(w, u, v, sigma);
}
