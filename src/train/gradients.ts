import * as tf from '@tensorflow/tfjs';

/** The tf.Variables behind layer weights, in the weights' order. */
export const variablesOf = (weights: { read(): tf.Tensor }[]): tf.Variable[] =>
  weights.map((w) => w.read() as tf.Variable);

/** sqrt of the sum of squares of every gradient: what gradient clipping compares to its limit. */
export function globalNorm(grads: tf.Tensor[]): number {
  if (grads.length === 0) return 0;
  return tf.tidy(() => tf.sqrt(tf.addN(grads.map((g) => tf.sum(tf.square(g))))).dataSync()[0]!);
}
