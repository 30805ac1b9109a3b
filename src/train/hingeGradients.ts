import * as tf from '@tensorflow/tfjs';
import { discriminatorHingeLoss } from '../losses/adversarial';
import type { Discriminator } from '../models/discriminator';

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
  const { value, grads } = tf.variableGrads(() => {
    const r = discriminator.discriminate(x, y, videoIndex, true).score;
    const f = discriminator.discriminate(xHat, y, videoIndex, true).score;
    [real, fake] = [tf.mean(r).dataSync()[0]!, tf.mean(f).dataSync()[0]!];
    return discriminatorHingeLoss(r, f);
  }, variables);
  const loss = value.dataSync()[0]!;
  value.dispose();
  return { loss, real, fake, grads, finite: [loss, real, fake].every(Number.isFinite) };
}
