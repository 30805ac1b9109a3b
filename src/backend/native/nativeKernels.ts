import * as tf from '@tensorflow/tfjs';
import { resizeBilinearGradOnHost } from '../kernels/resizeBilinearGrad';
import { replaceKernels } from '../kernels/replaceKernels';
import { ADAM_KERNELS } from './adamKernel';
import { CONV_KERNELS } from './convKernels';
import { HOST_KERNELS } from './hostKernels';
import { MATMUL_KERNELS } from './matMulKernels';
import { NATIVE_BACKEND, NativeBackend } from './nativeBackend';
import { POINTWISE_KERNELS } from './pointwiseKernels';
import { RANK_ONE_KERNELS } from './rankOneKernel';

/**
 * Registers the native backend: every cpu kernel under the native name (they only need the cpu
 * backend's storage, which NativeBackend inherits), then the onnxruntime kernels over the heavy
 * ones. Idempotent; the factory runs when tfjs first initialises the backend.
 */
export function registerNativeBackend(threads: number): void {
  if (tf.findBackendFactory(NATIVE_BACKEND) == null) {
    tf.registerBackend(NATIVE_BACKEND, () => new NativeBackend(threads), 1);
  }
  const cpuKernels = tf
    .getKernelsForBackend('cpu')
    .filter((k) => tf.getKernel(k.kernelName, NATIVE_BACKEND) == null)
    .map((k) => ({ ...k, backendName: NATIVE_BACKEND }));
  for (const k of cpuKernels) tf.registerKernel(k);
  replaceKernels([
    // The shipped cpu one ignores halfPixelCenters and swaps height and width.
    {
      kernelName: 'ResizeBilinearGrad',
      backendName: NATIVE_BACKEND,
      kernelFunc: resizeBilinearGradOnHost,
    },
    ...CONV_KERNELS,
    ...MATMUL_KERNELS,
    ...POINTWISE_KERNELS,
    ...HOST_KERNELS,
    ...ADAM_KERNELS,
    ...RANK_ONE_KERNELS,
  ]);
}
