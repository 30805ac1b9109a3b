import type * as tf from '@tensorflow/tfjs';
import { loadContentTerms } from '../losses/contentTerms';
import type { ContentTerm } from '../losses/contentLoss';
import { collectWeights, type NamedModules } from '../models/weights';
import type { CheckpointOptimizer } from './checkpoint';
import type { AdamSettings } from './columnAdam';
import type { FinetuneStepSettings } from './finetuneStep';
import type { TrainConfig } from './config';

/** L_CNT's terms as a run's config names them (VGG files, or face-api's net offline). */
export function contentTermsFor(loss: TrainConfig['loss']): Promise<ContentTerm[]> {
  return loadContentTerms({
    vgg19Weights: loss.vgg19Weights ?? undefined,
    vggfaceWeights: loss.vggfaceWeights ?? undefined,
    vggfaceChannelOrder: loss.vggfaceChannelOrder,
    weights: loss,
  });
}

/** Fine-tuning's learning rates (train.finetuneLr*, else meta-learning's) and D steps. */
export interface FinetuneRates {
  lrGenerator: number;
  lrDiscriminator: number;
  dStepsPerGStep: number;
}

export function finetuneRates(train: TrainConfig['train']): FinetuneRates {
  return {
    lrGenerator: train.finetuneLrGenerator ?? train.lrEmbedderGenerator,
    lrDiscriminator: train.finetuneLrDiscriminator ?? train.lrDiscriminator,
    dStepsPerGStep: train.dStepsPerGStep,
  };
}

/** A fine-tuning learner's settings: the run's Adam, loss weights and clipping at `rates`. */
export function finetuneStepSettings(
  config: TrainConfig,
  rates: FinetuneRates,
  contentTerms: readonly ContentTerm[],
): FinetuneStepSettings {
  return {
    generator: adamFor(config.train, rates.lrGenerator),
    discriminator: adamFor(config.train, rates.lrDiscriminator),
    dStepsPerGStep: rates.dStepsPerGStep,
    featureMatchingWeight: config.loss.featureMatching,
    contentTerms,
    gradientClip: config.train.gradientClip ?? undefined,
  };
}

/** Adam with the run's betas and epsilon at `learningRate`. */
export function adamFor(train: TrainConfig['train'], learningRate: number): AdamSettings {
  return { learningRate, beta1: train.beta1, beta2: train.beta2, epsilon: train.epsilon };
}

/**
 * A learner's optimizers with their variables keyed by stable weight name (collectWeights'),
 * as checkpoints store optimizer state: tfjs's own variable names change from run to run.
 */
export function checkpointOptimizers(
  optimizers: Record<string, { optimizer: tf.Optimizer; variables: tf.Variable[] }>,
  modules: NamedModules,
): Record<string, CheckpointOptimizer> {
  const stableName = new Map(
    [...collectWeights(modules)].map(([name, w]) => [(w.read() as tf.Variable).name, name]),
  );
  const out: Record<string, CheckpointOptimizer> = {};
  for (const [key, { optimizer, variables }] of Object.entries(optimizers))
    out[key] = {
      optimizer,
      variables: new Map(variables.map((v) => [stableName.get(v.name)!, v])),
    };
  return out;
}
