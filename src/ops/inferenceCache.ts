import * as tf from '@tensorflow/tfjs';
import { referenceOps } from './opsMode';

/**
 * One tensor computed from some inputs, kept while the inputs' data stay the same (tfjs data
 * ids), so that inference does not recompute it on every call: e.g. spectral norm's W / σ,
 * which also lets the native backend keep the filter inside its conv sessions. Under a gradient
 * tape, or with reference ops, it computes anew on every call.
 */
export class InferenceCache {
  private kept: { inputs: tf.DataId[]; value: tf.Tensor } | undefined;

  /** compute()'s value for these inputs, which the caller owns. */
  get(inputs: readonly tf.Tensor[], compute: () => tf.Tensor): tf.Tensor {
    // On a tape the value must be computed there, or its inputs would get no gradient.
    if (referenceOps() || recordingGradients()) return compute();
    const ids = inputs.map((t) => t.dataId);
    const kept = this.kept;
    // A clone shares the kept tensor's data (so a filter keeps its identity from call to call)
    // and outlives the cache if the caller holds it.
    if (kept && kept.inputs.length === ids.length && kept.inputs.every((id, i) => id === ids[i]))
      return tf.clone(kept.value);
    kept?.value.dispose();
    const value = tf.keep(compute());
    this.kept = { inputs: ids, value };
    return tf.clone(value);
  }

  /** Frees the kept tensor. */
  dispose(): void {
    this.kept?.value.dispose();
    this.kept = undefined;
  }
}

/** Whether tfjs is recording ops for a gradient (inside tf.grad, variableGrads, ...). */
function recordingGradients(): boolean {
  const state = (tf.engine() as unknown as { state: { gradientDepth?: number } }).state;
  if (typeof state.gradientDepth !== 'number')
    throw new Error("tfjs's engine no longer has state.gradientDepth");
  return state.gradientDepth > 0;
}
