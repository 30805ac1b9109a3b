import * as tf from '@tensorflow/tfjs';

/**
 * PSNR of identical images is infinite; a finite cap keeps means and intervals defined. 100 dB
 * is an error below 1e-5 of the range, far under one 8-bit step (48 dB).
 */
export const PSNR_CAP_DB = 100;

/** Mean absolute error of each image pair, [batch]; images [batch, h, w, c] in [0, 1]. */
export function perImageMeanAbsoluteError(a: tf.Tensor4D, b: tf.Tensor4D): tf.Tensor1D {
  return tf.tidy(() => tf.mean(tf.abs(tf.sub(a, b)), [1, 2, 3]) as tf.Tensor1D);
}

/** PSNR in dB of each image pair, [batch], for images in [0, dataRange]; capped at PSNR_CAP_DB. */
export function psnr(a: tf.Tensor4D, b: tf.Tensor4D, dataRange = 1): tf.Tensor1D {
  return tf.tidy(() => {
    const mse = tf.mean(tf.squaredDifference(a, b), [1, 2, 3]);
    const db = tf.mul(tf.log(tf.div(dataRange * dataRange, mse)), 10 / Math.LN10);
    // log(x / 0) is +Inf; minimum() maps it to the cap.
    return tf.minimum(db, PSNR_CAP_DB) as tf.Tensor1D;
  });
}
