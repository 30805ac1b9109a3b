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
import type { PresetName } from '../results';
import { randomImages } from './personGenerator';
import type { StepFigures } from './stepFigures';

export interface MetaStepArgs extends StepSettings, TimingPlan {
  preset: PresetName;
}

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

/**
 * ms per meta-learning step (MetaLearner.step: D's hinge updates, the E+G update, W's columns)
 * with untrained networks and L_CNT on the offline default backbone (face-api's recognition net).
 * The warm-up step runs under tf.profile and gives the step's FLOPs.
 */
export async function runMetaStep(args: MetaStepArgs): Promise<StepFigures> {
  const config = parseTrainConfig(
    {
      model: { preset: args.preset },
      data: { k: args.k },
      train: { batchSize: args.batchSize, dStepsPerGStep: args.dStepsPerGStep },
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
  const batch = episodeBatch(args.k, args.batchSize, config.model.imageSize);
  try {
    const first = await timeFirstRun(() => countFlops(() => void learner.step(batch)));
    const timing = await timeAfterWarmUp(() => void learner.step(batch), args, first.ms);
    return { timing, gflop: first.value.total / 1e9 };
  } finally {
    disposeBatch(batch);
    learner.dispose();
    contentTerms.forEach((t) => t.backbone.dispose());
    Object.values(networks).forEach((n) => n.dispose());
  }
}
