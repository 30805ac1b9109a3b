import * as tf from '@tensorflow/tfjs';

/** max|got - want| / max|want|: the relative error the backend tests bound. */
export function relativeError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  if (got.length !== want.length) throw new Error(`length ${got.length} != ${want.length}`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    diff = Math.max(diff, Math.abs(got[i]! - want[i]!));
    scale = Math.max(scale, Math.abs(want[i]!));
  }
  if (Number.isNaN(diff)) return Number.NaN;
  return scale === 0 ? diff : diff / scale;
}

/** max|a - b|, elementwise; NaN anywhere gives NaN. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

/** Runs the same computation on two backends and returns each output's flat values. */
export async function runOnBackends(
  backends: readonly string[],
  compute: () => tf.Tensor | tf.Tensor[],
): Promise<Float32Array[][]> {
  const results: Float32Array[][] = [];
  for (const name of backends) {
    await tf.setBackend(name);
    const outs = tf.tidy(compute);
    const list = Array.isArray(outs) ? outs : [outs];
    results.push(list.map((t) => Float32Array.from(t.dataSync())));
    tf.dispose(list);
  }
  return results;
}

/** Deterministic uniform values in [-1, 1) from a small LCG, independent of any backend. */
export function seededValues(count: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let state = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = state / 2 ** 31 - 1;
  }
  return out;
}

export function seededTensor(shape: number[], seed: number): tf.Tensor {
  return tf.tensor(
    seededValues(
      shape.reduce((a, b) => a * b, 1),
      seed,
    ),
    shape,
  );
}
