import type * as tf from '@tensorflow/tfjs';
import { countFlops } from '../../../src/models/flopCount';
import { timeAfterWarmUp, timeFirstRun, type TimingPlan } from '../measure';
import type { PresetName } from '../results';
import { personGenerator, randomImages } from './personGenerator';
import type { StepFigures } from './stepFigures';

export interface GeneratorTfjsArgs extends TimingPlan {
  preset: PresetName;
  batchSize: number;
}

/**
 * ms per batch of generated frames on this process's tfjs backend, the frames read back as
 * animation reads them. The warm-up batch is profiled for its FLOPs.
 */
export async function runGeneratorTfjs(args: GeneratorTfjsArgs): Promise<StepFigures> {
  const generator = personGenerator(args.preset);
  const size = generator.config.imageSize;
  const y = randomImages([args.batchSize, size, size, 3], 3) as tf.Tensor4D;
  const generate = () => {
    const frames = generator.generate(y);
    frames.dataSync();
    frames.dispose();
  };
  try {
    const first = await timeFirstRun(() => countFlops(() => generator.generate(y)));
    const timing = await timeAfterWarmUp(generate, args, first.ms);
    return { timing, gflop: first.value.total / 1e9 };
  } finally {
    y.dispose();
    generator.dispose();
  }
}
