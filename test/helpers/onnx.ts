import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import type { ModuleLayer } from '../../src/models/layers/moduleLayer';

/**
 * Gives every weight but the kernels (and spectral-norm u vectors) random values: fresh
 * networks have zero biases, unit norms and attention gamma 0, which would leave the lowering
 * of those terms untested.
 */
export function randomizeWeights(network: ModuleLayer, seed: number): void {
  let s = seed;
  for (const [name, weight] of network.namedWeights()) {
    const leaf = name.split('.').pop()!;
    if (leaf === 'kernel' || leaf === 'u') continue;
    // InstanceNorm's scale sits near 1; attention's gamma must be clearly non-zero.
    const mean = leaf === 'gamma' && !/attention/i.test(name) ? 1 : 0;
    const std = leaf === 'gamma' && /attention/i.test(name) ? 0.8 : 0.3;
    weight.write(tf.randomNormal(weight.shape as number[], mean, std, 'float32', s++));
  }
}

/** NHWC -> NCHW values. */
export function nchwValues(t: tf.Tensor): Float32Array {
  return tf.tidy(() => Float32Array.from(tf.transpose(t, [0, 3, 1, 2]).dataSync()));
}

/** Runs a model in onnxruntime-node; inputs as (values, dims). */
export async function runOnnx(
  model: onnx.IModelProto | Uint8Array,
  feeds: Record<string, [Float32Array, number[]]>,
): Promise<Record<string, Float32Array>> {
  const bytes = model instanceof Uint8Array ? model : onnx.ModelProto.encode(model).finish();
  // One thread: onnxruntime's pool spin-waits, which would starve the other jest worker.
  const session = await ort.InferenceSession.create(bytes, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
  });
  try {
    const results = await session.run(
      Object.fromEntries(
        Object.entries(feeds).map(([k, [data, dims]]) => [
          k,
          new ort.Tensor('float32', data, dims),
        ]),
      ),
    );
    return Object.fromEntries(Object.entries(results).map(([k, v]) => [k, v.data as Float32Array]));
  } finally {
    await session.release();
  }
}
