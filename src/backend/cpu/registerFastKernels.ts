import type * as tf from '@tensorflow/tfjs';
import { conv2dBackpropFilterViaConv } from '../kernels/conv2dBackpropFilter';
import { replaceKernels } from '../kernels/replaceKernels';
import { resizeBilinearGradOnHost } from '../kernels/resizeBilinearGrad';

/**
 * Kernels replaced on the cpu backend when it is chosen for work. Its own Conv2DBackpropFilter
 * is a scalar loop, far slower than its forward conv; as a forward conv it costs about as much
 * as the forward pass. Registered by initBackend only, so tests that use the cpu backend
 * as a reference keep its original kernels.
 */
export const CPU_FAST_KERNELS: readonly tf.KernelConfig[] = [
  {
    kernelName: 'Conv2DBackpropFilter',
    backendName: 'cpu',
    kernelFunc: conv2dBackpropFilterViaConv('cpu'),
  },
  // The shipped one ignores halfPixelCenters and swaps height and width (resizeBilinearGrad.ts).
  { kernelName: 'ResizeBilinearGrad', backendName: 'cpu', kernelFunc: resizeBilinearGradOnHost },
];

export function registerCpuFastKernels(): void {
  replaceKernels(CPU_FAST_KERNELS);
}
