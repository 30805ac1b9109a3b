import type * as tf from '@tensorflow/tfjs';
import { readFloats } from '../kernels/hostData';
import type { KernelArgs } from '../kernels/kernelCalls';
import { RANK_ONE_UPDATE } from '../kernels/rankOneUpdate';
import { allFloat32, nativeKernel } from './nativeKernelArgs';
import type { NativeBackend } from './nativeBackend';

/**
 * a·X + b·p·qᵀ as one loop: as tfjs ops (a scaled copy, an outer product, another scaling and
 * an add) it is four weight-sized passes, each a kernel and an array.
 */
function rankOneUpdate(args: KernelArgs): tf.TensorInfo {
  const { x, p, q, a, b } = args.inputs as Record<'x' | 'p' | 'q' | 'a' | 'b', tf.TensorInfo>;
  const rows = p.shape.reduce((s, d) => s * d, 1);
  const cols = q.shape.reduce((s, d) => s * d, 1);
  const size = x.shape.reduce((s, d) => s * d, 1);
  if (!allFloat32(x, p, q, a, b) || size !== rows * cols)
    throw new Error(`${RANK_ONE_UPDATE}: x [${x.shape}] is not p [${p.shape}] by q [${q.shape}]`);
  const backend = args.backend as NativeBackend;
  const xs = readFloats(backend, x);
  const ps = readFloats(backend, p);
  const qs = readFloats(backend, q);
  const scale = readFloats(backend, a)[0]!;
  const outer = readFloats(backend, b)[0]!;
  const out = backend.outputArray(size);
  if (outer === 0) {
    for (let i = 0; i < size; i++) out[i] = scale * xs[i]!;
  } else {
    for (let i = 0, k = 0; i < rows; i++) {
      const pi = outer * ps[i]!;
      for (let j = 0; j < cols; j++, k++) out[k] = scale * xs[k]! + pi * qs[j]!;
    }
  }
  return backend.makeTensorInfo([...x.shape], 'float32', out);
}

export const RANK_ONE_KERNELS: readonly tf.KernelConfig[] = [
  nativeKernel(RANK_ONE_UPDATE, rankOneUpdate),
];
