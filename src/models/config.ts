import { UserError } from '../errors';
import type { UpsamplingMode } from './layers/resampling';

export type Pooling = 'sum' | 'max' | 'avg';
export type OutputActivation = 'sigmoid' | 'tanh';

/**
 * Every size and choice of the three networks. Feature-map sizes name where self-attention
 * sits: after the block whose output has that height.
 */
export interface ModelConfig {
  /** Height and width of frames and landmark images: 64, 128 or 256. */
  imageSize: number;
  /** Channels of the first block; each later block doubles them up to maxWidth. */
  baseWidth: number;
  maxWidth: number;
  /** Length of e, of v in the discriminator and of each W column (they are compared by L_MCH). */
  embeddingSize: number;
  /** Kernel of the generator's first down block (9 in one port: 43% of its FLOPs at 256 px). */
  generatorFirstKernel: number;
  residualBlocks: number;
  attention: {
    embedder: number[];
    generatorDown: number[];
    generatorUp: number[];
    discriminator: number[];
  };
  embedderPooling: Pooling;
  discriminatorPooling: Pooling;
  outputActivation: OutputActivation;
  upsampling: UpsamplingMode;
  leakySlope: number;
}

/** The paper's networks at 256 px; widths and placement as in docs/method.md and the port. */
export const PAPER_PRESET: ModelConfig = {
  imageSize: 256,
  baseWidth: 64,
  maxWidth: 512,
  embeddingSize: 512,
  generatorFirstKernel: 9,
  residualBlocks: 5,
  attention: { embedder: [32], generatorDown: [32], generatorUp: [64], discriminator: [32] },
  embedderPooling: 'sum',
  discriminatorPooling: 'sum',
  outputActivation: 'sigmoid',
  upsampling: 'bilinear',
  leakySlope: 0.2,
};

/** 64 px and narrow: for tests and smoke training on two CPU cores. */
export const TINY_PRESET: ModelConfig = {
  imageSize: 64,
  baseWidth: 8,
  maxWidth: 32,
  embeddingSize: 32,
  generatorFirstKernel: 3,
  residualBlocks: 2,
  attention: { embedder: [16], generatorDown: [16], generatorUp: [16], discriminator: [16] },
  embedderPooling: 'sum',
  discriminatorPooling: 'sum',
  outputActivation: 'sigmoid',
  upsampling: 'bilinear',
  leakySlope: 0.2,
};

export const PRESETS = { paper: PAPER_PRESET, tiny: TINY_PRESET } as const;
export type PresetName = keyof typeof PRESETS;

export function presetConfig(name: string): ModelConfig {
  if (!(name in PRESETS)) {
    throw new UserError(
      `unknown model preset '${name}'; choose one of ${Object.keys(PRESETS).join(', ')}`,
    );
  }
  return structuredClone(PRESETS[name as PresetName]);
}

/** Output height of each of the encoder's downsampling blocks, from imageSize/2 down to 4. */
export function encoderSizes(config: ModelConfig): number[] {
  const sizes: number[] = [];
  for (let s = config.imageSize / 2; s >= 4; s /= 2) sizes.push(s);
  return sizes;
}

/** Channels of the embedder's and discriminator's down blocks; the last is the embedding. */
export function encoderWidths(config: ModelConfig): number[] {
  const sizes = encoderSizes(config);
  return sizes.map((_, i) =>
    i === sizes.length - 1
      ? config.embeddingSize
      : Math.min(config.baseWidth * 2 ** i, config.maxWidth),
  );
}

/** Channels of the generator's four down blocks and four up blocks. */
export function generatorWidths(config: ModelConfig): { down: number[]; up: number[] } {
  const w = (factor: number) =>
    Math.max(1, Math.min(Math.round(config.baseWidth * factor), config.maxWidth));
  return { down: [1, 2, 4, 8].map(w), up: [4, 2, 1, 0.5].map(w) };
}

/** Checks a config's internal consistency; every problem is a UserError naming the field. */
export function validateModelConfig(config: ModelConfig, source = 'model config'): ModelConfig {
  const fail = (field: string, why: string): never => {
    throw new UserError(`${source}: ${field} ${why}`);
  };
  if (![64, 128, 256].includes(config.imageSize))
    fail('imageSize', `must be 64, 128 or 256, got ${config.imageSize}`);
  for (const field of ['baseWidth', 'maxWidth', 'embeddingSize', 'residualBlocks'] as const) {
    if (!Number.isInteger(config[field]) || config[field] < 1)
      fail(field, `must be a positive integer, got ${config[field]}`);
  }
  if (config.generatorFirstKernel % 2 !== 1 || config.generatorFirstKernel < 1) {
    fail(
      'generatorFirstKernel',
      `must be an odd positive integer, got ${config.generatorFirstKernel}`,
    );
  }
  const encoder = encoderSizes(config);
  const gDown = [1, 2, 3, 4].map((i) => config.imageSize / 2 ** i);
  const gUp = [1, 2, 3].map((i) => (config.imageSize / 16) * 2 ** i);
  const allowed: Record<keyof ModelConfig['attention'], number[]> = {
    embedder: encoder,
    discriminator: encoder,
    generatorDown: gDown,
    generatorUp: gUp,
  };
  for (const [part, sizes] of Object.entries(allowed) as [
    keyof ModelConfig['attention'],
    number[],
  ][]) {
    for (const size of config.attention[part]) {
      if (!sizes.includes(size))
        fail(`attention.${part}`, `has ${size}; feature maps there are ${sizes.join(', ')}`);
    }
  }
  if (!(config.leakySlope >= 0 && config.leakySlope < 1))
    fail('leakySlope', `must be in [0, 1), got ${config.leakySlope}`);
  return config;
}
