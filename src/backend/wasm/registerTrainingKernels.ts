import type * as tf from '@tensorflow/tfjs';
import { conv2dBackpropFilterViaConv } from '../kernels/conv2dBackpropFilter';
import { conv2dBackpropInputViaConv } from '../kernels/conv2dBackpropInput';
import { replaceKernels } from '../kernels/replaceKernels';
import { resizeBilinearGradOnHost } from '../kernels/resizeBilinearGrad';
import { keepShippedWasmMatMul, WASM_MATMUL_KERNELS } from './matMulKernels';
import { maxPoolGradWasm } from './maxPoolGrad';
import { unsortedSegmentSumWasm } from './unsortedSegmentSum';

/**
 * Kernels that training needs and the shipped wasm backend lacks (Conv2DBackpropFilter,
 * UnsortedSegmentSum), gets wrong (MaxPoolGrad; ResizeBilinearGrad, which ignores
 * halfPixelCenters and swaps height and width; BatchMatMul and _FusedMatMul, see matMulKernels.ts)
 * or runs as a scalar loop, far slower than a forward conv (Conv2DBackpropInput).
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
  ...WASM_MATMUL_KERNELS,
];

export function registerWasmTrainingKernels(): void {
  keepShippedWasmMatMul();
  replaceKernels(WASM_TRAINING_KERNELS);
}
