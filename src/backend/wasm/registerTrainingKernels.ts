import type * as tf from '@tensorflow/tfjs';
import { conv2dBackpropFilterViaConv } from '../kernels/conv2dBackpropFilter';
import { conv2dBackpropInputViaConv } from '../kernels/conv2dBackpropInput';
import { replaceKernels } from '../kernels/replaceKernels';
import { resizeBilinearGradOnHost } from '../kernels/resizeBilinearGrad';
import { maxPoolGradWasm } from './maxPoolGrad';
import { unsortedSegmentSumWasm } from './unsortedSegmentSum';

/**
 * Kernels that training needs and the shipped wasm backend lacks (Conv2DBackpropFilter,
 * UnsortedSegmentSum), gets wrong (MaxPoolGrad; ResizeBilinearGrad, which ignores
 * halfPixelCenters and swaps height and width) or runs as a scalar loop, far slower than a
 * forward conv (Conv2DBackpropInput).
 */
export const WASM_TRAINING_KERNELS: readonly tf.KernelConfig[] = [
  {
    kernelName: 'Conv2DBackpropFilter',
    backendName: 'wasm',
    kernelFunc: conv2dBackpropFilterViaConv('wasm'),
  },
  {
    kernelName: 'Conv2DBackpropInput',
    backendName: 'wasm',
    kernelFunc: conv2dBackpropInputViaConv('wasm'),
  },
  { kernelName: 'UnsortedSegmentSum', backendName: 'wasm', kernelFunc: unsortedSegmentSumWasm },
  { kernelName: 'MaxPoolGrad', backendName: 'wasm', kernelFunc: maxPoolGradWasm },
  { kernelName: 'ResizeBilinearGrad', backendName: 'wasm', kernelFunc: resizeBilinearGradOnHost },
];

export function registerWasmTrainingKernels(): void {
  replaceKernels(WASM_TRAINING_KERNELS);
}
