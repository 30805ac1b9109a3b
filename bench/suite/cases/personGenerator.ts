import * as tf from '@tensorflow/tfjs';
import { presetConfig } from '../../../src/models/config';
import { Generator } from '../../../src/models/generator';
import type { PresetName } from '../results';

/**
 * A preset's generator as animation runs it: fine-tuning mode, a fixed random psi'. Untrained
 * weights: speed does not depend on them.
 */
export function personGenerator(preset: PresetName): Generator {
  const generator = new Generator(presetConfig(preset), { seed: 1 });
  tf.tidy(() =>
    generator.enterFinetuning(tf.randomNormal([generator.psiLength], 0, 0.1, 'float32', 2)),
  );
  return generator;
}

/** Seeded uniform [0, 1) pixels: frames and landmark images stand-ins. */
export function randomImages(shape: number[], seed: number): tf.Tensor {
  return tf.randomUniform(shape, 0, 1, 'float32', seed);
}
