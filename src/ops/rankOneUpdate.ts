import * as tf from '@tensorflow/tfjs';
import { RANK_ONE_UPDATE } from '../backend/kernels/rankOneUpdate';
import { referenceOps } from './opsMode';

const fused = () => !referenceOps() && tf.getKernel(RANK_ONE_UPDATE, tf.getBackend()) != null;

/**
 * a·x + b·p·qᵀ in x's shape (x read as a [p.length, q.length] matrix; a and b scalars), or a·x
 * without b: one fused kernel where the backend has one (native), else the reference. Not
 * differentiable itself: divideBySigma uses it inside its own gradient.
 */
export function rankOneUpdate(
  x: tf.Tensor,
  p: tf.Tensor,
  q: tf.Tensor,
  a: tf.Scalar,
  b?: tf.Scalar,
): tf.Tensor {
  if (!fused()) return referenceRankOneUpdate(x, p, q, a, b);
  return tf.tidy(
    () =>
      tf.engine().runKernel(RANK_ONE_UPDATE, { x, p, q, a, b: b ?? tf.scalar(0) }, {}) as tf.Tensor,
  );
}

/** rankOneUpdate in tfjs ops. */
export function referenceRankOneUpdate(
  x: tf.Tensor,
  p: tf.Tensor,
  q: tf.Tensor,
  a: tf.Scalar,
  b?: tf.Scalar,
): tf.Tensor {
  if (b == null) return tf.mul(x, a);
  // The outer product by broadcasting, not a matmul: tfjs-wasm's matmul keeps a packed b by its
  // data id alone, whatever its shape, so a q that was b before in another shape (spectral norm's
  // u is an [out, 1] b in the power iteration) would read the stale packing. The kernel is
  // guarded now (src/backend/wasm/matMulKernels.ts); this does not depend on the guard.
  return tf.tidy(() => {
    const outer = tf.reshape(tf.mul(tf.reshape(p, [-1, 1]), tf.reshape(q, [1, -1])), x.shape);
    return tf.add(tf.mul(x, a), tf.mul(outer, b));
  });
}

/** ⟨x, y⟩ over all elements: one matmul pass where rankOneUpdate is fused, else the reference. */
export function dotProduct(x: tf.Tensor, y: tf.Tensor): tf.Scalar {
  if (!fused()) return referenceDotProduct(x, y);
  return tf.tidy(
    () => tf.reshape(tf.matMul(tf.reshape(x, [1, -1]), tf.reshape(y, [-1, 1])), []) as tf.Scalar,
  );
}

/** ⟨x, y⟩ in tfjs ops: a product and a sum (no matmul, for the reason above). */
export function referenceDotProduct(x: tf.Tensor, y: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.sum(tf.mul(x, y)));
}
