import type * as tf from '@tensorflow/tfjs';
import { readFloats } from '../kernels/hostData';
import type { KernelArgs } from '../kernels/kernelCalls';
import { ADAM_UPDATE, type AdamUpdateAttrs } from '../kernels/adamUpdate';
import { allFloat32, nativeKernel } from './nativeKernelArgs';
import type { NativeBackend } from './nativeBackend';

/**
 * One Adam step for one variable in a single pass: tfjs's AdamOptimizer makes 14 tensor-sized
 * passes (each its own kernel and new array), over every weight of the model each step.
 * Same formula as tfjs's, in double precision, rounded once to float32 at the end.
 */
function adamUpdate(args: KernelArgs): tf.TensorInfo[] {
  const { value, m, v, gradient } = args.inputs as Record<
    'value' | 'm' | 'v' | 'gradient',
    tf.TensorInfo
  >;
  const size = value.shape.reduce((a, b) => a * b, 1);
  const sizes = [m, v, gradient].map((t) => t.shape.reduce((a, b) => a * b, 1));
  if (!allFloat32(value, m, v, gradient) || sizes.some((s) => s !== size))
    throw new Error(`${ADAM_UPDATE} needs float32 value, m, v and gradient of one size`);
  const { learningRate, beta1, beta2, epsilon, correction1, correction2 } =
    args.attrs as unknown as AdamUpdateAttrs;
  const backend = args.backend as NativeBackend;
  const w = readFloats(backend, value);
  const m0 = readFloats(backend, m);
  const v0 = readFloats(backend, v);
  const g = readFloats(backend, gradient);
  const w1 = backend.outputArray(size);
  const m1 = backend.outputArray(size);
  const v1 = backend.outputArray(size);
  const keep1 = 1 - beta1;
  const keep2 = 1 - beta2;
  // Reciprocals instead of two of the three divisions per weight: multiplying is cheaper.
  const step = learningRate / correction1;
  const unbias2 = 1 / correction2;
  for (let i = 0; i < size; i++) {
    const gi = g[i]!;
    const mi = m0[i]! * beta1 + gi * keep1;
    const vi = v0[i]! * beta2 + gi * gi * keep2;
    m1[i] = mi;
    v1[i] = vi;
    w1[i] = w[i]! - (mi * step) / (Math.sqrt(vi * unbias2) + epsilon);
  }
  const shape = [...value.shape];
  return [
    backend.makeTensorInfo(shape, 'float32', w1),
    backend.makeTensorInfo(shape, 'float32', m1),
    backend.makeTensorInfo(shape, 'float32', v1),
  ];
}

export const ADAM_KERNELS: readonly tf.KernelConfig[] = [
  nativeKernel(ADAM_UPDATE, adamUpdate as never),
];
