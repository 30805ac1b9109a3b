import * as tf from '@tensorflow/tfjs';
import type { KernelArgs } from '../kernels/kernelCalls';
import type { WasmHeapBackend } from './heap';

/**
 * Gradient of 2-D max pooling: each dy goes to the first maximum of its window (padding
 * excluded), as on the cpu and tensorflow backends. The shipped wasm kernel starts its running
 * maximum at 0, so windows whose maximum is <= 0 lose their gradient; this one starts at -inf.
 */
export function maxPoolGradWasm(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as WasmHeapBackend;
  const { dy, input } = args.inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
  const { filterSize, strides, pad, dimRoundingMode } =
    args.attrs as unknown as tf.MaxPoolGradAttrs;
  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    filterSize,
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  const { batchSize, inHeight, inWidth, inChannels: channels, outHeight, outWidth } = info;
  const { strideHeight, strideWidth, effectiveFilterHeight, effectiveFilterWidth } = info;
  const { top: padTop, left: padLeft } = info.padInfo;

  const dxInfo = backend.makeOutput(input.shape, 'float32');
  const dx = backend.typedArrayFromHeap(dxInfo) as Float32Array;
  const xs = backend.typedArrayFromHeap(input) as Float32Array;
  const dys = backend.typedArrayFromHeap(dy) as Float32Array;
  dx.fill(0);
  const xRowStride = inWidth * channels;
  const xBatchStride = inHeight * xRowStride;
  for (let b = 0; b < batchSize; b++) {
    for (let yR = 0; yR < outHeight; yR++) {
      const rCorner = yR * strideHeight - padTop;
      const rMin = Math.max(0, rCorner);
      const rMax = Math.min(inHeight, rCorner + effectiveFilterHeight);
      for (let yC = 0; yC < outWidth; yC++) {
        const cCorner = yC * strideWidth - padLeft;
        const cMin = Math.max(0, cCorner);
        const cMax = Math.min(inWidth, cCorner + effectiveFilterWidth);
        const dyBase = ((b * outHeight + yR) * outWidth + yC) * channels;
        for (let d = 0; d < channels; d++) {
          let best = Number.NEGATIVE_INFINITY;
          let bestIndex = -1;
          for (let r = rMin; r < rMax; r++) {
            let index = b * xBatchStride + r * xRowStride + cMin * channels + d;
            for (let c = cMin; c < cMax; c++, index += channels) {
              const v = xs[index]!;
              if (v > best) {
                best = v;
                bestIndex = index;
              }
            }
          }
          if (bestIndex >= 0) dx[bestIndex]! += dys[dyBase + d]!;
        }
      }
    }
  }
  return dxInfo;
}
