import * as tf from '@tensorflow/tfjs';
import { discriminatorHingeLoss } from '../losses/adversarial';
import type { Discriminator } from '../models/discriminator';
import { variableGrads } from '../ops/variableGrads';

export interface HingeGradients {
  loss: number;
  /** Mean r(x) and r(x̂). */
  real: number;
  fake: number;
  grads: Record<string, tf.Tensor>;
  /** False when the loss or a mean score is not finite: the caller must not apply `grads`. */
  finite: boolean;
}

/**
 * D's hinge loss on real frames x and generated x̂ (detached) for landmark images y, and its
 * gradients for `variables`. videoIndex picks W's columns in meta-learning; fine-tuning passes
 * none (D uses w'). The scores are checked too: a ReLU turns NaN into 0 on some backends, so
 * the hinge can hide one.
 */
export function hingeGradients(
  discriminator: Discriminator,
  x: tf.Tensor4D,
  xHat: tf.Tensor4D,
  y: tf.Tensor4D,
  videoIndex: tf.Tensor1D | undefined,
  variables: tf.Variable[],
): HingeGradients {
  let real = 0;
  let fake = 0;
  const n = x.shape[0];
  const { value, grads } = variableGrads(() => {
    // x and x̂ as one batch: D has no batch statistics, so the scores are those of two calls,
    // with one spectral-norm iteration per update instead of two, and D's kernels run half as
    // often at twice the batch.
    const scores = discriminator.discriminate(
      tf.concat([x, xHat]),
      tf.concat([y, y]),
      videoIndex ? tf.concat([videoIndex, videoIndex]) : undefined,
      true,
    ).score;
    const [r, f] = tf.split(scores, [n, n]) as [tf.Tensor1D, tf.Tensor1D];
    [real, fake] = [tf.mean(r).dataSync()[0]!, tf.mean(f).dataSync()[0]!];
    return discriminatorHingeLoss(r, f);
  }, variables);
  const loss = value.dataSync()[0]!;
  value.dispose();
  return { loss, real, fake, grads, finite: [loss, real, fake].every(Number.isFinite) };
}
