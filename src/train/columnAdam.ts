import * as tf from '@tensorflow/tfjs';
import type { AdamSettings } from '../ops/adam';

export type { AdamSettings };

/**
 * Adam for the projection discriminator's W ([embeddingSize, videos]) that touches only the
 * columns of the videos in the batch, each with its own moments and its own step count. A plain
 * optimizer over the whole W would keep moving every other video's column on stale momentum: the
 * ports' "Adam's moments mixed between videos" (docs/method.md, Departures).
 */
export class ColumnAdam {
  readonly m: tf.Variable;
  readonly v: tf.Variable;
  /** Updates each column has had (its Adam t), for the bias correction. */
  readonly steps: Int32Array;

  constructor(
    readonly target: tf.Variable,
    readonly settings: AdamSettings,
  ) {
    const [rows, columns] = target.shape as [number, number];
    // Unnamed: tfjs variable names are global, and every learner has its own moments.
    this.m = tf.variable(tf.zeros([rows, columns]), false);
    this.v = tf.variable(tf.zeros([rows, columns]), false);
    this.steps = new Int32Array(columns);
  }

  /**
   * One Adam step on the given columns (distinct), from the gradient of the whole W (only those
   * columns of it are read). Every other column, and its moments, stay exactly as they are.
   */
  apply(gradient: tf.Tensor2D, columns: readonly number[]): void {
    if (new Set(columns).size !== columns.length) throw new Error('columns must be distinct');
    if (columns.length === 0) return;
    const { learningRate, beta1, beta2, epsilon } = this.settings;
    for (const c of columns) this.steps[c]!++;
    const rows = this.target.shape[0]!;
    tf.tidy(() => {
      const index = tf.tensor1d([...columns], 'int32');
      const g = tf.gather(gradient, index, 1);
      const m = tf.add(tf.mul(tf.gather(this.m, index, 1), beta1), tf.mul(g, 1 - beta1));
      const v = tf.add(tf.mul(tf.gather(this.v, index, 1), beta2), tf.mul(tf.square(g), 1 - beta2));
      const correction1 = tf.tensor2d(
        columns.map((c) => 1 - beta1 ** this.steps[c]!),
        [1, columns.length],
      );
      const correction2 = tf.tensor2d(
        columns.map((c) => 1 - beta2 ** this.steps[c]!),
        [1, columns.length],
      );
      const step = tf.div(tf.div(m, correction1), tf.add(tf.sqrt(tf.div(v, correction2)), epsilon));
      const w = tf.sub(tf.gather(this.target, index, 1), tf.mul(step, learningRate));
      // Element indices (row, column) in the row-major order of the [rows, k] updates.
      const pairs: number[] = [];
      for (let r = 0; r < rows; r++) for (const c of columns) pairs.push(r, c);
      const at = tf.tensor2d(pairs, [pairs.length / 2, 2], 'int32');
      const scatter = (into: tf.Variable, values: tf.Tensor) =>
        into.assign(tf.tensorScatterUpdate(into, at, tf.reshape(values, [-1])));
      scatter(this.target, w);
      scatter(this.m, m);
      scatter(this.v, v);
    });
  }

  dispose(): void {
    this.m.dispose();
    this.v.dispose();
  }
}
