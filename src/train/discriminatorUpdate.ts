import * as tf from '@tensorflow/tfjs';
import type { Discriminator } from '../models/discriminator';
import { applyInOrder, globalNorm } from './gradients';
import { hingeGradients } from './hingeGradients';

/** What D trains on: real frames x, generated x̂ (detached) and their landmark images y. */
export interface DiscriminatorBatch {
  real: tf.Tensor4D;
  fake: tf.Tensor4D;
  landmarks: tf.Tensor4D;
  /** W's columns in meta-learning; none in fine-tuning (D uses w'). */
  videoIndex?: tf.Tensor1D;
}

export interface DiscriminatorUpdatesResult {
  /** Hinge loss and mean r(x), r(x̂) of the last update applied; 0 when none was. */
  loss: number;
  scores: { real: number; fake: number };
  /** That update's global gradient norm, before clipping. */
  gradientNorm: number;
  /**
   * An update's loss, score or gradient was not finite: it and the updates after it were
   * skipped (a NaN input can reach the gradient while ReLUs keep the scores finite).
   */
  nonFinite: boolean;
  /** The sum of `setAside`'s hinge gradients over the updates applied; the caller disposes it. */
  setAsideGradient?: tf.Tensor;
}

/**
 * `steps` hinge updates of D on the same batch, each applied by `optimizer` to `variables` in
 * their order. `setAside` (meta-learning's W, which moves per column) takes part in the loss but
 * is not applied here: its gradients are summed for the caller.
 */
export function discriminatorUpdates(
  discriminator: Discriminator,
  optimizer: tf.Optimizer,
  variables: tf.Variable[],
  batch: DiscriminatorBatch,
  options: { steps: number; gradientClip: number | undefined; setAside?: tf.Variable },
): DiscriminatorUpdatesResult {
  const { steps, gradientClip, setAside } = options;
  const result: DiscriminatorUpdatesResult = {
    loss: 0,
    scores: { real: 0, fake: 0 },
    gradientNorm: 0,
    nonFinite: false,
  };
  try {
    for (let d = 0; d < steps; d++) {
      const update = hingeGradients(
        discriminator,
        batch.real,
        batch.fake,
        batch.landmarks,
        batch.videoIndex,
        setAside ? [...variables, setAside] : variables,
      );
      const grads = update.grads;
      const norm = update.finite ? globalNorm(Object.values(grads)) : NaN;
      if (!Number.isFinite(norm)) {
        tf.dispose(Object.values(grads));
        result.nonFinite = true;
        return result;
      }
      const setAsideGrad = setAside ? grads[setAside.name]! : undefined;
      if (setAside) delete grads[setAside.name];
      result.gradientNorm = applyInOrder(optimizer, variables, grads, gradientClip);
      if (setAsideGrad) {
        const previous = result.setAsideGradient;
        result.setAsideGradient = previous ? tf.add(previous, setAsideGrad) : setAsideGrad;
        if (previous) tf.dispose([previous, setAsideGrad]);
      }
      result.loss = update.loss;
      result.scores = { real: update.real, fake: update.fake };
    }
    return result;
  } catch (error) {
    result.setAsideGradient?.dispose();
    throw error;
  }
}
