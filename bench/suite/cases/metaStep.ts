import * as tf from '@tensorflow/tfjs';
import type { EpisodeBatch } from '../../../src/data/episodes/sampler';
import { disposeBatch } from '../../../src/data/episodes/sampler';
import { countFlops } from '../../../src/models/flopCount';
import { Discriminator } from '../../../src/models/discriminator';
import { Embedder } from '../../../src/models/embedder';
import { Generator } from '../../../src/models/generator';
import { parseTrainConfig } from '../../../src/train/config';
import { MetaLearner } from '../../../src/train/metaStep';
import { adamFor, contentTermsFor } from '../../../src/train/runParts';
import { timeAfterWarmUp, timeFirstRun, type TimingPlan } from '../measure';
import type { StepSettings } from '../modes';
import type { ContentLossName, PresetName } from '../results';
import { randomImages } from './personGenerator';
import { writeRandomVggWeights, type RandomVggFiles } from './randomVggWeights';
import type { StepFigures } from './stepFigures';

export type MetaStepArgs = MetaStepSetup & TimingPlan;

/** Training videos (W columns) of the benchmark's discriminator; the batch uses the first few. */
const VIDEOS = 16;

/** A batch of random episodes, K frames each, from distinct videos. */
function episodeBatch(k: number, batchSize: number, size: number): EpisodeBatch {
  const videos = Array.from({ length: batchSize }, (_, i) => i % VIDEOS);
  return {
    plans: videos.map((videoIndex) => ({
      videoIndex,
      key: `video${videoIndex}`,
      frames: Array.from({ length: k + 1 }, (_, j) => j),
      flipped: false,
    })),
    videoIndex: tf.tensor1d(videos, 'int32'),
    frames: randomImages([batchSize, k, size, size, 3], 1) as tf.Tensor5D,
    frameLandmarks: randomImages([batchSize, k, size, size, 3], 2) as tf.Tensor5D,
    target: randomImages([batchSize, size, size, 3], 3) as tf.Tensor4D,
    targetLandmarks: randomImages([batchSize, size, size, 3], 4) as tf.Tensor4D,
  };
}

/** What a meta-learning step needs: its settings and L_CNT's networks. */
export type MetaStepSetup = StepSettings & { preset: PresetName; contentLoss: ContentLossName };

/**
 * ms per meta-learning step (MetaLearner.step: D's hinge updates, the E+G update, W's columns)
 * with untrained networks and L_CNT on face-api's recognition net (the offline default) or on the
 * paper's VGG19 + VGG-Face, loaded from weights files as a user's are. The warm-up step runs under
 * tf.profile and gives the step's FLOPs.
 */
export function runMetaStep(args: MetaStepArgs): Promise<StepFigures> {
  return withMetaStep(args, async (step) => {
    const first = await timeFirstRun(() => countFlops(step));
    const timing = await timeAfterWarmUp(step, args, first.ms);
    return { timing, gflop: first.value.total / 1e9 };
  });
}

/**
 * Builds untrained networks, a learner and a batch of random episodes, gives `use` a function
 * that runs one meta-learning step on them, and disposes of it all when `use` settles.
 */
export async function withMetaStep<T>(
  setup: MetaStepSetup,
  use: (step: () => void) => Promise<T>,
): Promise<T> {
  const vgg: RandomVggFiles | undefined =
    setup.contentLoss === 'vgg' ? await writeRandomVggWeights() : undefined;
  try {
    const config = parseTrainConfig(
      {
        model: { preset: setup.preset },
        data: { k: setup.k },
        train: { batchSize: setup.batchSize, dStepsPerGStep: setup.dStepsPerGStep },
        ...(vgg
          ? { loss: { vgg19Weights: vgg.vgg19Weights, vggfaceWeights: vgg.vggfaceWeights } }
          : {}),
      },
      'benchmark',
    );
    const { train } = config;
    const networks = {
      embedder: new Embedder(config.model, { seed: 1 }),
      generator: new Generator(config.model, { seed: 2 }),
      discriminator: new Discriminator(config.model, VIDEOS, { seed: 3 }),
    };
    const contentTerms = await contentTermsFor(config.loss);
    const learner = new MetaLearner(networks, {
      embedderGenerator: adamFor(train, train.lrEmbedderGenerator),
      discriminator: adamFor(train, train.lrDiscriminator),
      dStepsPerGStep: train.dStepsPerGStep,
      lossWeights: config.loss,
      contentTerms,
    });
    const batch = episodeBatch(setup.k, setup.batchSize, config.model.imageSize);
    try {
      return await use(() => void learner.step(batch));
    } finally {
      disposeBatch(batch);
      learner.dispose();
      contentTerms.forEach((t) => t.backbone.dispose());
      Object.values(networks).forEach((n) => n.dispose());
    }
  } finally {
    vgg?.remove();
  }
}
