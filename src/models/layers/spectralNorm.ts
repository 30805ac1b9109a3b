import * as tf from '@tensorflow/tfjs';
import { detach } from '../../losses/detach';
import type { Initializer, LayerVariable } from './moduleLayer';

const EPS = 1e-12;

function normalize(x: tf.Tensor): tf.Tensor {
  return tf.div(x, tf.add(tf.norm(x), EPS));
}

/**
 * Spectral normalisation of a conv or dense kernel (Miyato et al. 2018): W / sigma(W), with
 * sigma estimated by power iteration on W viewed as a [fanIn, out] matrix. The left singular
 * vector estimate u (length out, like PyTorch's) is a persistent, non-trainable weight of the
 * owning layer. Each training call runs one iteration and stores the new u; inference uses the
 * stored u and changes nothing, so the normalised kernel is the one training ended with.
 */
export class SpectralNorm {
  constructor(
    private readonly kernel: LayerVariable,
    private readonly u: LayerVariable,
  ) {}

  /** Initial u: a random unit vector, as PyTorch draws it. */
  static initialU(seed?: number): Initializer {
    return tf.initializers.randomNormal({ mean: 0, stddev: 1, seed });
  }

  normalizedKernel(training: boolean): tf.Tensor {
    return tf.tidy(() => {
      const w = this.kernel.read();
      const out = w.shape[w.shape.length - 1]!;
      const matrix = tf.reshape(w, [-1, out]); // [fanIn, out]
      // u and v are constants for the gradient, as PyTorch computes them under no_grad.
      let u = tf.reshape(normalize(this.u.read()), [out, 1]);
      const v = detach(normalize(tf.matMul(matrix, u))); // [fanIn, 1]
      if (training) {
        u = detach(normalize(tf.matMul(matrix, v, true, false)));
        this.u.write(tf.reshape(u, [out]));
      }
      const sigma = tf.sum(tf.mul(v, tf.matMul(matrix, u)));
      return tf.div(w, sigma);
    });
  }
}
