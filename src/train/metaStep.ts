import * as tf from '@tensorflow/tfjs';
import { generatorAdversarialLoss } from '../losses/adversarial';
import { contentLoss, type ContentTerm } from '../losses/contentLoss';
import { detach, offTape } from '../ops/detach';
import { embeddingMatchLoss } from '../losses/embeddingMatch';
import { featureMatchingLoss } from '../losses/featureMatching';
import type { LossWeights } from '../losses/lossWeights';
import type { Discriminator } from '../models/discriminator';
import type { Embedder } from '../models/embedder';
import type { Generator } from '../models/generator';
import type { EpisodeBatch } from '../data/episodes/sampler';
import { ColumnAdam, type AdamSettings } from './columnAdam';
import { discriminatorUpdates } from './discriminatorUpdate';
import { generatorUpdate } from './generatorUpdate';
import { globalNorm, variablesOf } from './gradients';
import { adamOptimizer } from '../ops/adam';

export interface MetaNetworks {
  embedder: Embedder;
  generator: Generator;
  discriminator: Discriminator;
}

export interface MetaStepSettings {
  /** Adam for E and G (the paper: 5e-5). */
  embedderGenerator: AdamSettings;
  /** Adam for D, and W's per-column Adam (the paper: 2e-4). */
  discriminator: AdamSettings;
  /** Hinge updates of D per E+G update. */
  dStepsPerGStep: number;
  lossWeights: LossWeights;
  contentTerms: readonly ContentTerm[];
  /** Clip each network's gradient to this global norm; undefined: no clipping. */
  gradientClip?: number;
}

/** What a step measured; the loss terms are weighted as they enter the objective. */
export interface MetaStepResult {
  losses: {
    discriminator: number;
    content: number;
    adversarial: number;
    featureMatching: number;
    embeddingMatch: number;
    total: number;
  };
  /** Mean r(x) and r(x̂) of the last D update. */
  scores: { real: number; fake: number };
  /** Global gradient norms, before clipping. */
  gradientNorms: { embedder: number; generator: number; discriminator: number; w: number };
  /** Undefined when every term was finite; else the first non-finite term (nothing was updated). */
  nonFinite?: string;
}

/**
 * One meta-learning step (docs/method.md, Losses and Optimisation) on a batch of episodes:
 * 1. one E+G update on L_CNT + L_ADV (with feature matching) + L_MCH;
 * 2. `dStepsPerGStep` hinge updates of D on x and that update's x̂, detached;
 * 3. one update of the batch's W columns (only those) from the D loss and L_MCH.
 * A non-finite loss term stops the step before its update is applied (the E+G update, once
 * made, stays) and names the term.
 */
export class MetaLearner {
  private readonly egOptimizer: tf.Optimizer;
  private readonly dOptimizer: tf.Optimizer;
  readonly columnAdam: ColumnAdam;
  private readonly eVars: tf.Variable[];
  private readonly gVars: tf.Variable[];
  private readonly dVars: tf.Variable[];
  private readonly w: tf.Variable;

  constructor(
    readonly networks: MetaNetworks,
    readonly settings: MetaStepSettings,
  ) {
    const { embedder, generator, discriminator } = networks;
    this.egOptimizer = adamOptimizer(settings.embedderGenerator);
    this.dOptimizer = adamOptimizer(settings.discriminator);
    this.w = discriminator.projectionMatrix.read() as tf.Variable;
    this.eVars = variablesOf(embedder.trainableWeights);
    this.gVars = variablesOf(generator.trainableWeights);
    this.dVars = variablesOf(discriminator.trainableWeights).filter((v) => v !== this.w);
    this.columnAdam = new ColumnAdam(this.w, settings.discriminator);
  }

  /** The optimizers with the variables they own, by the names checkpoints use. */
  get optimizers(): Record<string, { optimizer: tf.Optimizer; variables: tf.Variable[] }> {
    return {
      embedderGenerator: { optimizer: this.egOptimizer, variables: [...this.eVars, ...this.gVars] },
      discriminator: { optimizer: this.dOptimizer, variables: this.dVars },
    };
  }

  step(batch: EpisodeBatch): MetaStepResult {
    const { embedder: E, generator: G, discriminator: D } = this.networks;
    const { lossWeights, dStepsPerGStep, gradientClip } = this.settings;
    const columns = [...new Set(batch.plans.map((p) => p.videoIndex))].sort((a, b) => a - b);
    const { frames, frameLandmarks, target, targetLandmarks, videoIndex } = batch;
    const result: MetaStepResult = {
      losses: {
        discriminator: 0,
        content: 0,
        adversarial: 0,
        featureMatching: 0,
        embeddingMatch: 0,
        total: 0,
      },
      scores: { real: 0, fake: 0 },
      gradientNorms: { embedder: 0, generator: 0, discriminator: 0, w: 0 },
    };

    // One generation per step, as in the public PyTorch port: the E+G update's x̂, detached,
    // then serves the D updates (D thus trains on the x̂ of G before its update). Generating
    // x̂ anew for D would cost a second E and G forward pass every step.
    let startedColumns: { undo(): void; dispose(): void } | undefined;
    let fake: tf.Tensor4D | undefined;
    let embedding: tf.Tensor2D | undefined;
    let wFromD: tf.Tensor | undefined;
    try {
      // 1. E+G on L_CNT + L_ADV + L_MCH. W's share of L_MCH is taken apart in 3, so that the
      // generator's adversarial term never moves W (a D parameter).
      const eg = generatorUpdate(
        this.egOptimizer,
        { embedder: this.eVars, generator: this.gVars },
        gradientClip,
        () => {
          const e = E.embedVideo(frames, frameLandmarks, true);
          embedding = tf.keep(detach(e));
          // A video seen for the first time starts its W column at this ê (undone if the step
          // fails), before L_MCH reads it.
          startedColumns = this.startUnseenColumns(
            embedding,
            batch.plans.map((p) => p.videoIndex),
          );
          const generated = G.generate(targetLandmarks, e, true);
          fake = tf.keep(detach(generated));
          // Targets only: off the tape, D's real pass saves nothing for the backward pass.
          const realOut = offTape(() => D.discriminate(target, targetLandmarks, videoIndex, true));
          const fakeOut = D.discriminate(generated, targetLandmarks, videoIndex, true);
          return {
            content: contentLoss(target, generated, this.settings.contentTerms),
            adversarial: generatorAdversarialLoss(fakeOut.score),
            featureMatching: tf.mul(
              featureMatchingLoss(realOut.features, fakeOut.features),
              lossWeights.featureMatching,
            ) as tf.Scalar,
            embeddingMatch: tf.mul(
              embeddingMatchLoss(e, detach(D.videoColumns(videoIndex))),
              lossWeights.embeddingMatch,
            ) as tf.Scalar,
          };
        },
      );
      Object.assign(result.losses, eg.losses);
      if (eg.nonFinite) {
        result.nonFinite = eg.nonFinite;
        startedColumns?.undo();
        return result;
      }
      Object.assign(result.gradientNorms, eg.gradientNorms);

      // 2. D on x and x̂; W's hinge gradients are set aside for 3.
      const d = discriminatorUpdates(
        D,
        this.dOptimizer,
        this.dVars,
        { real: target, fake: fake!, landmarks: targetLandmarks, videoIndex },
        { steps: dStepsPerGStep, gradientClip, setAside: this.w },
      );
      wFromD = d.setAsideGradient;
      result.losses.discriminator = d.loss;
      result.scores = d.scores;
      result.gradientNorms.discriminator = d.gradientNorm;
      if (d.nonFinite) {
        // The E+G update stays, and so do the columns it matched ê to.
        result.nonFinite = 'discriminator';
        return result;
      }

      // 3. W: the mean hinge gradient plus L_MCH's, on the batch's columns only.
      const wGrad = tf.tidy(() => {
        const { grads: mch } = tf.variableGrads(
          () =>
            tf.mul(
              embeddingMatchLoss(embedding!, D.videoColumns(videoIndex)),
              lossWeights.embeddingMatch,
            ) as tf.Scalar,
          [this.w],
        );
        const fromMch = mch[this.w.name]!;
        return wFromD ? tf.add(tf.div(wFromD, dStepsPerGStep), fromMch) : fromMch;
      });
      result.gradientNorms.w = globalNorm([wGrad]);
      this.columnAdam.apply(wGrad as tf.Tensor2D, columns);
      wGrad.dispose();
      return result;
    } finally {
      fake?.dispose();
      embedding?.dispose();
      wFromD?.dispose();
      startedColumns?.dispose();
    }
  }

  /**
   * A video's W column starts at its first ê, as fine-tuning's w' starts at w0 + ê_NEW. From a
   * random column near 0, L_MCH (weight 80, every step) pulls ê to 0 faster than the column,
   * updated only when its video is drawn, can follow, and E's final ReLU dies: every e becomes 0.
   */
  private startUnseenColumns(
    embedding: tf.Tensor2D,
    videoIndices: readonly number[],
  ): { undo(): void; dispose(): void } | undefined {
    const unseen = videoIndices
      .map((video, row) => ({ video, row }))
      .filter(
        ({ video }, i, all) =>
          this.columnAdam.steps[video] === 0 && all.findIndex((o) => o.video === video) === i,
      );
    if (unseen.length === 0) return undefined;
    // [e, n] x one-hot [n, videos] puts each row in its column; the mask clears those first.
    const put = (rows: tf.Tensor2D) =>
      tf.tidy(() => {
        const videos = tf.tensor1d(
          unseen.map((u) => u.video),
          'int32',
        );
        const oneHot = tf.cast(tf.oneHot(videos, this.w.shape[1]!), 'float32') as tf.Tensor2D;
        const keep = tf.sub(1, tf.sum(oneHot, 0, true));
        this.w.assign(tf.add(tf.mul(this.w, keep), tf.matMul(rows, oneHot, true, false)));
      });
    const previous = tf.keep(
      tf.transpose(
        tf.gather(
          this.w,
          unseen.map((u) => u.video),
          1,
        ),
      ) as tf.Tensor2D,
    );
    put(
      tf.gather(
        embedding,
        unseen.map((u) => u.row),
      ),
    );
    return { undo: () => put(previous), dispose: () => previous.dispose() };
  }

  dispose(): void {
    this.egOptimizer.dispose();
    this.dOptimizer.dispose();
    this.columnAdam.dispose();
  }
}
