import { Discriminator } from '../../src/models/discriminator';
import { Embedder } from '../../src/models/embedder';
import { Generator } from '../../src/models/generator';
import { saveCheckpoint } from '../../src/train/checkpoint';
import { parseTrainConfig } from '../../src/train/config';
import { resolvedConfigYaml } from '../../src/train/loadConfig';

/**
 * An untrained meta-learning checkpoint of a preset (default tiny) at `imageSize`, saved as train-meta
 * saves one (config, framing, weights; no optimizer state): for tests of the commands that
 * start from a checkpoint, where what the weights are does not matter.
 */
export async function makeUntrainedMetaCheckpoint(
  runDir: string,
  options: { imageSize: number; seed: number; videos?: number; preset?: 'tiny' | 'paper' },
): Promise<string> {
  const config = parseTrainConfig(
    {
      model: { preset: options.preset ?? 'tiny', imageSize: options.imageSize },
      train: { seed: options.seed },
      loss: { faceapi: 1 },
    },
    'test checkpoint',
  );
  const modules = {
    embedder: new Embedder(config.model, { seed: options.seed + 1 }),
    generator: new Generator(config.model, { seed: options.seed + 2 }),
    discriminator: new Discriminator(config.model, options.videos ?? 3, { seed: options.seed + 3 }),
  };
  try {
    await saveCheckpoint(
      runDir,
      {
        step: 0,
        modules,
        optimizers: {},
        rng: null,
        config: resolvedConfigYaml(config),
        data: { size: options.imageSize, crop: { scale: 1.8, offsetY: -0.1 } },
      },
      { keep: 1 },
    );
  } finally {
    Object.values(modules).forEach((m) => m.dispose());
  }
  return runDir;
}
