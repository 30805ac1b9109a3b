import type * as tf from '@tensorflow/tfjs';
import { countFlops } from '../../../src/models/flopCount';
import { distinctConvShapes } from '../convShapes';
import type { ConvShape, PresetName } from '../results';
import { personGenerator, randomImages } from './personGenerator';

export interface GeneratorFlopsArgs {
  preset: PresetName;
}

export interface GeneratorFlopsFigures {
  imageSize: number;
  gflopPerFrame: number;
  byKernel: Record<string, number>;
  convShapes: ConvShape[];
}

/** One frame of the preset's generator (batch 1) under tf.profile: its FLOPs and conv shapes. */
export async function runGeneratorFlops(args: GeneratorFlopsArgs): Promise<GeneratorFlopsFigures> {
  const generator = personGenerator(args.preset);
  const size = generator.config.imageSize;
  const y = randomImages([1, size, size, 3], 3) as tf.Tensor4D;
  try {
    const count = await countFlops(() => generator.generate(y));
    return {
      imageSize: size,
      gflopPerFrame: count.total / 1e9,
      byKernel: Object.fromEntries(
        Object.entries(count.byKernel).map(([kernel, flops]) => [kernel, flops / 1e9]),
      ),
      convShapes: distinctConvShapes(count),
    };
  } finally {
    y.dispose();
    generator.dispose();
  }
}
