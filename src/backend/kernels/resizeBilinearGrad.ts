import type * as tf from '@tensorflow/tfjs';
import type { KernelArgs } from './kernelCalls';
import { outputFromFloats, readFloats } from './hostData';

/**
 * Source rows (or columns) and the weight of the far one for each output row, exactly as the
 * cpu and wasm ResizeBilinear kernels compute them.
 */
function sourceTaps(
  outSize: number,
  inSize: number,
  alignCorners: boolean,
  halfPixelCenters: boolean,
) {
  const ratio = alignCorners && outSize > 1 ? (inSize - 1) / (outSize - 1) : inSize / outSize;
  const low = new Int32Array(outSize);
  const high = new Int32Array(outSize);
  const frac = new Float32Array(outSize);
  for (let o = 0; o < outSize; o++) {
    const source = halfPixelCenters ? ratio * (o + 0.5) - 0.5 : ratio * o;
    low[o] = Math.max(0, Math.floor(source));
    high[o] = Math.min(inSize - 1, Math.ceil(source));
    frac[o] = source - low[o]!;
  }
  return { low, high, frac };
}

/**
 * The adjoint of bilinear resizing: each output gradient goes back to the four source pixels
 * with the forward pass's weights. tfjs's own ResizeBilinearGrad (cpu and wasm) ignores
 * halfPixelCenters and swaps height and width for non-square images; this one is the exact
 * transpose of the forward kernel, checked by <R x, w> = <x, R^T w> in the tests.
 */
export function resizeBilinearBackward(
  dy: Float32Array,
  dyShape: number[],
  inHeight: number,
  inWidth: number,
  alignCorners: boolean,
  halfPixelCenters: boolean,
): Float32Array {
  const [batch, outHeight, outWidth, channels] = dyShape as [number, number, number, number];
  const rows = sourceTaps(outHeight, inHeight, alignCorners, halfPixelCenters);
  const cols = sourceTaps(outWidth, inWidth, alignCorners, halfPixelCenters);
  const dx = new Float32Array(batch * inHeight * inWidth * channels);
  let index = 0;
  for (let b = 0; b < batch; b++) {
    const base = b * inHeight;
    for (let r = 0; r < outHeight; r++) {
      const rf = rows.frac[r]!;
      const top = (base + rows.low[r]!) * inWidth;
      const bottom = (base + rows.high[r]!) * inWidth;
      for (let c = 0; c < outWidth; c++) {
        const cf = cols.frac[c]!;
        const tl = (top + cols.low[c]!) * channels;
        const tr = (top + cols.high[c]!) * channels;
        const bl = (bottom + cols.low[c]!) * channels;
        const br = (bottom + cols.high[c]!) * channels;
        const wtl = (1 - rf) * (1 - cf);
        const wtr = (1 - rf) * cf;
        const wbl = rf * (1 - cf);
        const wbr = rf * cf;
        for (let d = 0; d < channels; d++, index++) {
          const g = dy[index]!;
          dx[tl + d]! += g * wtl;
          dx[tr + d]! += g * wtr;
          dx[bl + d]! += g * wbl;
          dx[br + d]! += g * wbr;
        }
      }
    }
  }
  return dx;
}

/** ResizeBilinearGrad for backends whose data the host can read (cpu, wasm). */
export function resizeBilinearGradOnHost(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as tf.KernelBackend;
  const { images, dy } = args.inputs as { images: tf.TensorInfo; dy: tf.TensorInfo };
  const { alignCorners, halfPixelCenters } = args.attrs as unknown as tf.ResizeBilinearGradAttrs;
  const [, inHeight, inWidth] = images.shape as number[];
  const dx = resizeBilinearBackward(
    readFloats(backend, dy),
    dy.shape,
    inHeight!,
    inWidth!,
    alignCorners,
    halfPixelCenters,
  );
  return outputFromFloats(backend, images.shape, dx);
}
