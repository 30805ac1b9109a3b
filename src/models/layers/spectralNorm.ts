import * as tf from '@tensorflow/tfjs';
import { detach } from '../../ops/detach';
import { divideBySigma } from '../../ops/divideBySigma';
import { InferenceCache } from '../../ops/inferenceCache';
import type { Initializer, LayerVariable } from './moduleLayer';

const EPS = 1e-12;

function normalize(x: tf.Tensor): tf.Tensor {
  return normalizeWithNorm(x).unit;
}

function normalizeWithNorm(x: tf.Tensor): { unit: tf.Tensor; norm: tf.Scalar } {
  const norm = tf.norm(x) as tf.Scalar;
  return { unit: tf.div(x, tf.add(norm, EPS)), norm };
}

/**
 * Spectral normalisation of a conv or dense kernel (Miyato et al. 2018): W / sigma(W), with
 * sigma estimated by power iteration on W viewed as a [fanIn, out] matrix. The left singular
 * vector estimate u (length out, like PyTorch's) is a persistent, non-trainable weight of the
 * owning layer. Each training call runs one iteration and stores the new u; inference uses the
 * stored u and changes nothing, so the normalised kernel is the one training ended with.
 */
export class SpectralNorm {
  /** Inference changes neither W nor u, so its W / σ holds while they stay. */
  private readonly inference = new InferenceCache();

  constructor(
    private readonly kernel: LayerVariable,
    private readonly u: LayerVariable,
  ) {}

  /** Initial u: a random unit vector, as PyTorch draws it. */
  static initialU(seed?: number): Initializer {
    return tf.initializers.randomNormal({ mean: 0, stddev: 1, seed });
  }

  /** W / σ(W); a training call first runs one power iteration and stores the new u. */
  normalizedKernel(training: boolean): tf.Tensor {
    if (training) return this.compute(true);
    return this.inference.get([this.kernel.read(), this.u.read()], () => this.compute(false));
  }

  /** Frees the kernel kept for inference. */
  dispose(): void {
    this.inference.dispose();
  }

  private compute(training: boolean): tf.Tensor {
    return tf.tidy(() => {
      const w = this.kernel.read();
      const out = w.shape[w.shape.length - 1]!;
      const matrix = tf.reshape(w, [-1, out]); // [fanIn, out]
      // u and v are constants for the gradient, as PyTorch computes them under no_grad.
      let u = tf.reshape(normalize(this.u.read()), [out, 1]);
      const forward = normalizeWithNorm(tf.matMul(matrix, u));
      const v = detach(forward.unit); // [fanIn, 1]
      // σ = vᵀ·W·u; with v = Wu/(|Wu| + ε) that is |Wu|²/(|Wu| + ε), and likewise with
      // u = Wᵀv/(|Wᵀv| + ε) after an iteration: no third pass over W for it.
      let { norm } = forward;
      if (training) {
        const back = normalizeWithNorm(tf.matMul(matrix, v, true, false));
        u = detach(back.unit);
        norm = back.norm;
        this.u.write(tf.reshape(u, [out]));
      }
      const sigma = detach(tf.div(tf.square(norm), tf.add(norm, EPS))) as tf.Scalar;
      return divideBySigma(w, u as tf.Tensor2D, v as tf.Tensor2D, sigma);
    });
  }
}
