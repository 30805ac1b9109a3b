import * as tf from '@tensorflow/tfjs';

/**
 * SSIM as Wang, Bovik, Sheikh & Simoncelli (2004) define it and as papers report it: an 11x11
 * Gaussian window (sigma 1.5), K1 = 0.01, K2 = 0.03, only windows that fit inside the image
 * ('valid', as their MATLAB ssim_index), each RGB channel on its own, then the mean over
 * channels and positions.
 */
export const SSIM_WINDOW = 11;
const SSIM_SIGMA = 1.5;
const K1 = 0.01;
const K2 = 0.03;

/** The normalised 1-D Gaussian whose outer product is the SSIM window. */
export function ssimKernel1d(size = SSIM_WINDOW, sigma = SSIM_SIGMA): Float32Array {
  const centre = (size - 1) / 2;
  const w = Float32Array.from({ length: size }, (_, i) =>
    Math.exp(-((i - centre) ** 2) / (2 * sigma * sigma)),
  );
  const sum = w.reduce((a, b) => a + b, 0);
  return w.map((v) => v / sum);
}

/** Gaussian-weighted local means of every channel: two depthwise passes (the window separates). */
function localMeans(maps: tf.Tensor4D, kernel: Float32Array): tf.Tensor4D {
  const channels = maps.shape[3];
  const taps = kernel.length;
  const repeated = new Float32Array(taps * channels);
  for (let i = 0; i < taps; i++) repeated.fill(kernel[i]!, i * channels, (i + 1) * channels);
  const across = tf.tensor4d(repeated, [1, taps, channels, 1]);
  const down = tf.tensor4d(repeated, [taps, 1, channels, 1]);
  return tf.depthwiseConv2d(tf.depthwiseConv2d(maps, across, 1, 'valid'), down, 1, 'valid');
}

/**
 * SSIM of each image pair, [batch]: images [batch, h, w, channels] with values in
 * [0, dataRange] (1 for the networks' [0, 1] frames).
 */
export function ssim(a: tf.Tensor4D, b: tf.Tensor4D, dataRange = 1): tf.Tensor1D {
  const [, h, w, channels] = a.shape;
  if (h < SSIM_WINDOW || w < SSIM_WINDOW)
    throw new Error(`SSIM needs images of at least ${SSIM_WINDOW} px, got ${h}x${w}`);
  return tf.tidy(() => {
    // Variances come out as E[x^2] - E[x]^2, which loses float32 digits away from 0; the
    // moments of x - range/2 lose far fewer, and (co)variances do not change with the shift.
    const shift = dataRange / 2;
    const [x, y] = [tf.sub(a, shift), tf.sub(b, shift)];
    const moments = localMeans(
      tf.concat([x, y, tf.square(x), tf.square(y), tf.mul(x, y)], 3) as tf.Tensor4D,
      ssimKernel1d(),
    );
    const part = (i: number) => tf.slice(moments, [0, 0, 0, i * channels], [-1, -1, -1, channels]);
    const [meanX, meanY, xx, yy, xy] = [0, 1, 2, 3, 4].map(part) as tf.Tensor4D[];
    const varA = tf.sub(xx!, tf.square(meanX!));
    const varB = tf.sub(yy!, tf.square(meanY!));
    const cov = tf.sub(xy!, tf.mul(meanX!, meanY!));
    const [muA, muB] = [tf.add(meanX!, shift), tf.add(meanY!, shift)];
    const c1 = (K1 * dataRange) ** 2;
    const c2 = (K2 * dataRange) ** 2;
    const muAB = tf.mul(muA, muB);
    const luminance = tf.div(
      tf.add(tf.mul(muAB, 2), c1),
      tf.add(tf.add(tf.square(muA), tf.square(muB)), c1),
    );
    const structure = tf.div(tf.add(tf.mul(cov, 2), c2), tf.add(tf.add(varA, varB), c2));
    return tf.mean(tf.mul(luminance, structure), [1, 2, 3]) as tf.Tensor1D;
  });
}
