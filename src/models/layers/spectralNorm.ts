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
  /**
   * W / sigma as inference last computed it, with the data of the W and u it came from: while
   * neither changes, inference returns it again instead of dividing every weight anew each
   * frame, and the native backend can keep the filter inside its conv sessions.
   */
  private inference: { kernel: tf.DataId; u: tf.DataId; value: tf.Tensor } | undefined;

  constructor(
    private readonly kernel: LayerVariable,
    private readonly u: LayerVariable,
  ) {}

  /** Initial u: a random unit vector, as PyTorch draws it. */
  static initialU(seed?: number): Initializer {
    return tf.initializers.randomNormal({ mean: 0, stddev: 1, seed });
  }

  normalizedKernel(training: boolean): tf.Tensor {
    // Under a gradient tape the kernel must be computed on it, or W would get no gradient.
    if (training || recordingGradients()) return this.compute(training);
    const kernel = this.kernel.read().dataId;
    const u = this.u.read().dataId;
    const cached = this.inference;
    // The caller owns what it gets: a clone, which shares the kept tensor's data (so a filter
    // keeps its identity from frame to frame) and outlives the cache if the caller holds it.
    if (cached && cached.kernel === kernel && cached.u === u) return tf.clone(cached.value);
    cached?.value.dispose();
    const value = tf.keep(this.compute(false));
    this.inference = { kernel, u, value };
    return tf.clone(value);
  }

  /** Frees the kernel kept for inference. */
  dispose(): void {
    this.inference?.value.dispose();
    this.inference = undefined;
  }

  private compute(training: boolean): tf.Tensor {
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

/** Whether tfjs is recording ops for a gradient (inside tf.grad, variableGrads, ...). */
function recordingGradients(): boolean {
  const state = (tf.engine() as unknown as { state: { gradientDepth?: number } }).state;
  if (typeof state.gradientDepth !== 'number')
    throw new Error("tfjs's engine no longer has state.gradientDepth");
  return state.gradientDepth > 0;
}
