import * as tf from '@tensorflow/tfjs';

/** The tf.Variables behind layer weights, in the weights' order. */
export const variablesOf = (weights: { read(): tf.Tensor }[]): tf.Variable[] =>
  weights.map((w) => w.read() as tf.Variable);

/**
 * sqrt of the sum of squares of every gradient: what gradient clipping compares to its limit.
 * Each sum of squares is g·g as one [1, n] x [n, 1] product: a single read of g, where
 * sum(square(g)) writes a squared copy first.
 */
export function globalNorm(grads: tf.Tensor[]): number {
  if (grads.length === 0) return 0;
  return tf.tidy(() => {
    const squares = grads.map((g) => {
      const row = tf.reshape(g, [1, -1]);
      return tf.reshape(tf.matMul(row, row, false, true), []);
    });
    return tf.sqrt(tf.addN(squares)).dataSync()[0]!;
  });
}

/**
 * Applies gradients in the variables' fixed order, zeros where a variable got none (tfjs's Adam
 * pairs its moment slots with variables by position, and a checkpoint restores them by that
 * order), scaled to at most `clip` in global norm. `norm` is the gradients' global norm when the
 * caller has it already. Disposes `grads`; returns the norm before clipping.
 */
/**
 * Scales, in place, the gradients of `variables` so that their global norm (`norm`) is at most
 * `clip`; nothing when clip is undefined. One network's spike then never shrinks another's step.
 */
export function clipNetworkGradients(
  grads: Record<string, tf.Tensor>,
  variables: readonly tf.Variable[],
  clip: number | undefined,
  norm: number,
): void {
  if (clip === undefined || !(norm > clip)) return;
  const scale = clip / norm;
  for (const v of variables) {
    const g = grads[v.name];
    if (!g) continue;
    grads[v.name] = tf.mul(g, scale);
    g.dispose();
  }
}

export function applyInOrder(
  optimizer: tf.Optimizer,
  variables: readonly tf.Variable[],
  grads: Record<string, tf.Tensor>,
  clip: number | undefined,
  norm = globalNorm(Object.values(grads)),
): number {
  const scale = clip !== undefined && norm > clip ? clip / norm : 1;
  tf.tidy(() => {
    optimizer.applyGradients(
      variables.map((v) => {
        const g = grads[v.name] ?? tf.zerosLike(v);
        return { name: v.name, tensor: scale === 1 ? g : tf.mul(g, scale) };
      }),
    );
  });
  tf.dispose(Object.values(grads));
  return norm;
}
