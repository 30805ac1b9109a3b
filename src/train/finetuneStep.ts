import * as tf from '@tensorflow/tfjs';
import { generatorAdversarialLoss } from '../losses/adversarial';
import { contentLoss, type ContentTerm } from '../losses/contentLoss';
import { detach, offTape } from '../ops/detach';
import { featureMatchingLoss } from '../losses/featureMatching';
import type { Discriminator } from '../models/discriminator';
import type { Generator } from '../models/generator';
import type { AdamSettings } from './columnAdam';
import { discriminatorUpdates } from './discriminatorUpdate';
import { generatorUpdate } from './generatorUpdate';
import { variablesOf } from './gradients';
import { adamOptimizer } from '../ops/adam';

export interface FinetuneNetworks {
  /** In fine-tuning mode: psi' replaces P·ê (Generator.enterFinetuning). */
  generator: Generator;
  /** In fine-tuning mode: w' replaces W_i + w0 (Discriminator.enterFinetuning). */
  discriminator: Discriminator;
}

export interface FinetuneStepSettings {
  generator: AdamSettings;
  discriminator: AdamSettings;
  dStepsPerGStep: number;
  featureMatchingWeight: number;
  contentTerms: readonly ContentTerm[];
  /** Clip each network's gradient to this global norm; undefined: no clipping. */
  gradientClip?: number;
}

/** A batch of the person's shots: frames and their landmark images, [batch, size, size, 3]. */
export interface ShotBatch {
  frames: tf.Tensor4D;
  landmarks: tf.Tensor4D;
}

/** The shots at `indices` of all the shots, as one batch (new tensors). */
export function pickShots(all: ShotBatch, indices: readonly number[]): ShotBatch {
  const at = tf.tensor1d(indices as number[], 'int32');
  try {
    return { frames: tf.gather(all.frames, at), landmarks: tf.gather(all.landmarks, at) };
  } finally {
    at.dispose();
  }
}

export interface FinetuneStepResult {
  losses: {
    discriminator: number;
    content: number;
    adversarial: number;
    featureMatching: number;
    total: number;
  };
  scores: { real: number; fake: number };
  gradientNorms: { generator: number; discriminator: number };
  /** The first non-finite term: its update and the rest of the step were skipped. */
  nonFinite?: string;
}

/**
 * One fine-tuning step on a new person's shots (docs/method.md, Few-shot fine-tuning): one update
 * of G (with psi') on L_CNT + L_ADV, feature matching included, then the hinge update(s) of D
 * (with w') on that update's x̂. No embedder and no L_MCH: the person's embedding is already
 * folded into psi' and w'.
 * P, W and w0 are frozen (the networks' fine-tuning mode leaves them out of the trainable lists).
 */
export class FinetuneLearner {
  private readonly gOptimizer: tf.Optimizer;
  private readonly dOptimizer: tf.Optimizer;
  private readonly gVars: tf.Variable[];
  private readonly dVars: tf.Variable[];

  constructor(
    readonly networks: FinetuneNetworks,
    readonly settings: FinetuneStepSettings,
  ) {
    const { generator, discriminator } = networks;
    if (generator.mode !== 'finetune' || discriminator.mode !== 'finetune')
      throw new Error('FinetuneLearner needs G and D in fine-tuning mode (enterFinetuning)');
    this.gOptimizer = adamOptimizer(settings.generator);
    this.dOptimizer = adamOptimizer(settings.discriminator);
    this.gVars = variablesOf(generator.trainableWeights);
    this.dVars = variablesOf(discriminator.trainableWeights);
  }

  /** The optimizers with the variables they own, by the names checkpoints use. */
  get optimizers(): Record<string, { optimizer: tf.Optimizer; variables: tf.Variable[] }> {
    return {
      generator: { optimizer: this.gOptimizer, variables: this.gVars },
      discriminator: { optimizer: this.dOptimizer, variables: this.dVars },
    };
  }

  step(batch: ShotBatch): FinetuneStepResult {
    const { generator: G, discriminator: D } = this.networks;
    const { dStepsPerGStep, gradientClip, featureMatchingWeight, contentTerms } = this.settings;
    const { frames, landmarks } = batch;
    const result: FinetuneStepResult = {
      losses: { discriminator: 0, content: 0, adversarial: 0, featureMatching: 0, total: 0 },
      scores: { real: 0, fake: 0 },
      gradientNorms: { generator: 0, discriminator: 0 },
    };
    // One generation per step, as in meta-learning (metaStep.ts): the G update's x̂, detached,
    // serves the D updates after it.
    let fake: tf.Tensor4D | undefined;
    try {
      // G (with psi') on L_CNT + L_ADV, feature matching included.
      const g = generatorUpdate(this.gOptimizer, { generator: this.gVars }, gradientClip, () => {
        const generated = G.generate(landmarks, undefined, true);
        fake = tf.keep(detach(generated));
        // Targets only: off the tape, D's real pass saves nothing for the backward pass.
        const realOut = offTape(() => D.discriminate(frames, landmarks, undefined, true));
        const fakeOut = D.discriminate(generated, landmarks, undefined, true);
        return {
          content: contentLoss(frames, generated, contentTerms),
          adversarial: generatorAdversarialLoss(fakeOut.score),
          featureMatching: tf.mul(
            featureMatchingLoss(realOut.features, fakeOut.features),
            featureMatchingWeight,
          ) as tf.Scalar,
        };
      });
      Object.assign(result.losses, g.losses);
      if (g.nonFinite) {
        result.nonFinite = g.nonFinite;
        return result;
      }
      result.gradientNorms.generator = g.gradientNorms.generator;

      // D (with w') on the shots and x̂. A refused D update leaves the G update in place.
      const d = discriminatorUpdates(
        D,
        this.dOptimizer,
        this.dVars,
        { real: frames, fake: fake!, landmarks },
        { steps: dStepsPerGStep, gradientClip },
      );
      result.losses.discriminator = d.loss;
      result.scores = d.scores;
      result.gradientNorms.discriminator = d.gradientNorm;
      if (d.nonFinite) result.nonFinite = 'discriminator';
      return result;
    } finally {
      fake?.dispose();
    }
  }

  dispose(): void {
    this.gOptimizer.dispose();
    this.dOptimizer.dispose();
  }
}
