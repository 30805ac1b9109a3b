import * as tf from '@tensorflow/tfjs';
import { countFlops } from '../../../src/models/flopCount';
import { Discriminator } from '../../../src/models/discriminator';
import { Generator } from '../../../src/models/generator';
import { parseTrainConfig } from '../../../src/train/config';
import { FinetuneLearner, type ShotBatch } from '../../../src/train/finetuneStep';
import { contentTermsFor, finetuneRates, finetuneStepSettings } from '../../../src/train/runParts';
import { timeAfterWarmUp, timeFirstRun, type TimingPlan } from '../measure';
import type { StepSettings } from '../modes';
import type { PresetName } from '../results';
import { withMetaStep } from './metaStep';
import { randomImages } from './personGenerator';
import type { StepFigures } from './stepFigures';

export interface FinetuneStepArgs extends Omit<StepSettings, 'k'>, TimingPlan {
  preset: PresetName;
  /**
   * Meta-learning steps (this K, batch and D steps) the process runs first, all disposed of
   * before fine-tuning starts: a second phase of one process, as the demo runs, should be as fast
   * as a process of its own.
   */
  afterMeta?: { k: number; steps: number };
}

/**
 * ms per fine-tuning step (FinetuneLearner.step: D's hinge updates with w', then G with psi' on
 * L_CNT + L_ADV) on a batch of a new person's shots, G and D switched to fine-tuning mode from a
 * random embedding as finetune() does from ê. The warm-up step is profiled for its FLOPs.
 */
export async function runFinetuneStep(args: FinetuneStepArgs): Promise<StepFigures> {
  if (args.afterMeta) {
    const { k, steps } = args.afterMeta;
    await withMetaStep({ ...args, k, contentLoss: 'faceapi' }, async (step) => {
      for (let i = 0; i < steps; i++) step();
    });
  }
  const config = parseTrainConfig(
    {
      model: { preset: args.preset },
      train: { batchSize: args.batchSize, dStepsPerGStep: args.dStepsPerGStep },
    },
    'benchmark',
  );
  const generator = new Generator(config.model, { seed: 2 });
  const discriminator = new Discriminator(config.model, 1, { seed: 3 });
  tf.tidy(() => {
    const e = tf.abs(tf.randomNormal([1, config.model.embeddingSize], 0, 1, 'float32', 4));
    generator.enterFinetuning(generator.projectEmbedding(e as tf.Tensor2D));
    discriminator.enterFinetuning(e);
  });
  const contentTerms = await contentTermsFor(config.loss);
  const learner = new FinetuneLearner(
    { generator, discriminator },
    finetuneStepSettings(config, finetuneRates(config.train), contentTerms),
  );
  const size = config.model.imageSize;
  const shots: ShotBatch = {
    frames: randomImages([args.batchSize, size, size, 3], 1) as tf.Tensor4D,
    landmarks: randomImages([args.batchSize, size, size, 3], 2) as tf.Tensor4D,
  };
  try {
    const first = await timeFirstRun(() => countFlops(() => void learner.step(shots)));
    const timing = await timeAfterWarmUp(() => void learner.step(shots), args, first.ms);
    return { timing, gflop: first.value.total / 1e9 };
  } finally {
    tf.dispose([shots.frames, shots.landmarks]);
    learner.dispose();
    contentTerms.forEach((t) => t.backbone.dispose());
    generator.dispose();
    discriminator.dispose();
  }
}
