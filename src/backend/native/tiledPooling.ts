import type * as tf from '@tensorflow/tfjs';

/**
 * Whether a pool's windows tile its input exactly: stride = window, no padding, nothing left
 * over (2x2 average pooling of an even size, the models' only pooling).
 */
export function tilesExactly(info: tf.backend_util.Conv2DInfo): boolean {
  const { strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
  const p = info.padInfo;
  return (
    sh === fh &&
    sw === fw &&
    p.top === 0 &&
    p.bottom === 0 &&
    p.left === 0 &&
    p.right === 0 &&
    info.outHeight * fh === info.inHeight &&
    info.outWidth * fw === info.inWidth
  );
}

// One store per input in memory order, not the pool's own loop with its per-window bookkeeping.

/** AvgPoolGrad over windows that tile the input (tilesExactly): each dy spread over its window. */
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

/**
 * MaxPool over windows that tile the input (tilesExactly): each output the largest of its
 * window, compared as the cpu kernel compares (NaN never wins; a window of NaNs gives -Infinity).
 */
export function tiledMaxPool(
  x: Float32Array,
  info: tf.backend_util.Conv2DInfo,
  out: Float32Array,
): Float32Array {
  const { batchSize, inHeight, inWidth, inChannels: c, outHeight, outWidth } = info;
  const { filterHeight: fh, filterWidth: fw } = info;
  out.fill(Number.NEGATIVE_INFINITY);
  for (let n = 0; n < batchSize; n++)
    for (let oy = 0; oy < outHeight; oy++) {
      const row = (n * outHeight + oy) * outWidth * c;
      for (let i = 0; i < fh; i++) {
        let from = (n * inHeight + oy * fh + i) * inWidth * c;
        for (let ox = 0; ox < outWidth; ox++) {
          const to = row + ox * c;
          for (let j = 0; j < fw; j++, from += c)
            for (let ch = 0; ch < c; ch++) {
              const v = x[from + ch]!;
              if (v > out[to + ch]!) out[to + ch] = v;
            }
        }
      }
    }
  return out;
}
