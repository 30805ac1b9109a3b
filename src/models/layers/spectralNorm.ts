import * as tf from '@tensorflow/tfjs';
import { detach } from '../../losses/detach';
import type { Initializer, LayerVariable } from './moduleLayer';
import { dotProduct, rankOneUpdate } from './rankOneUpdate';

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

/**
 * W / σ, σ = vᵀ·W·u (W as [fanIn, out]; u and v constants, σ passed in as computed from
 * them), and its gradient in closed form:
 * dW = dŴ/σ − (⟨dŴ, W⟩/σ²)·v·uᵀ, one dot product and one fused pass. tfjs's own gradient of the
 * division and of σ's matmul took six weight-sized passes per layer and update: 2.4 s of a paper
 * meta-learning step, which has 30 kernels of 3x3x512x512.
 */
export function divideBySigma(
  w: tf.Tensor,
  u: tf.Tensor2D,
  v: tf.Tensor2D,
  sigma: tf.Scalar,
): tf.Tensor {
  // u, v and σ go in as inputs, so that the tape keeps them for the gradient (they get none).
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [weights, left, right, s, save] = args as [
      tf.Tensor,
      tf.Tensor2D,
      tf.Tensor2D,
      tf.Scalar,
      tf.GradSaveFunc,
    ];
    save([weights, left, right, s]);
    return {
      value: rankOneUpdate(weights, right, left, tf.div(1, s) as tf.Scalar),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [kept, u0, v0, s0] = saved as [tf.Tensor, tf.Tensor2D, tf.Tensor2D, tf.Scalar];
        const dw = tf.tidy(() => {
          const b = tf.neg(tf.div(dotProduct(dy, kept), tf.square(s0))) as tf.Scalar;
          return rankOneUpdate(dy, v0, u0, tf.div(1, s0) as tf.Scalar, b);
        });
        return [dw, tf.zerosLike(u0), tf.zerosLike(v0), tf.zerosLike(s0)];
      },
    };
  });
  return op(w, u, v, sigma);
}

/** Whether tfjs is recording ops for a gradient (inside tf.grad, variableGrads, ...). */
function recordingGradients(): boolean {
  const state = (tf.engine() as unknown as { state: { gradientDepth?: number } }).state;
  if (typeof state.gradientDepth !== 'number')
    throw new Error("tfjs's engine no longer has state.gradientDepth");
  return state.gradientDepth > 0;
}
