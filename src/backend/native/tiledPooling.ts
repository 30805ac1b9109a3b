import type * as tf from '@tensorflow/tfjs';

/**
 * How a pool's windows cover its input: 'exact' when they tile it (stride = window, no padding,
 * nothing left over: 2x2 average pooling of an even size, the models' only pooling), 'disjoint'
 * when they never overlap but leave inputs out, else 'overlapping'.
 */
export function tiling(info: tf.backend_util.Conv2DInfo): 'exact' | 'disjoint' | 'overlapping' {
  const { strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
  if (sh < fh || sw < fw) return 'overlapping';
  const p = info.padInfo;
  const unpadded = p.top === 0 && p.bottom === 0 && p.left === 0 && p.right === 0;
  const covered =
    sh === fh &&
    sw === fw &&
    info.outHeight * fh === info.inHeight &&
    info.outWidth * fw === info.inWidth;
  return unpadded && covered ? 'exact' : 'disjoint';
}

// In the pool's own loop (per-window bookkeeping) a K = 8 batch's gradient at 256x256x64 took
// 152 ms; as one store per input in memory order, 124.

/** AvgPoolGrad over windows that tile the input exactly: each dy spread over its window. */
export function tiledAvgPoolGrad(
  dy: Float32Array,
  info: tf.backend_util.Conv2DInfo,
  dx: Float32Array,
): Float32Array {
  const { batchSize, inHeight, inWidth, inChannels: c, outHeight, outWidth } = info;
  const { filterHeight: fh, filterWidth: fw } = info;
  const weight = 1 / (fh * fw);
  for (let n = 0; n < batchSize; n++)
    for (let oy = 0; oy < outHeight; oy++) {
      const row = (n * outHeight + oy) * outWidth * c;
      for (let i = 0; i < fh; i++) {
        let to = (n * inHeight + oy * fh + i) * inWidth * c;
        for (let ox = 0; ox < outWidth; ox++) {
          const from = row + ox * c;
          for (let j = 0; j < fw; j++, to += c)
            for (let ch = 0; ch < c; ch++) dx[to + ch] = dy[from + ch]! * weight;
        }
      }
    }
  return dx;
}
