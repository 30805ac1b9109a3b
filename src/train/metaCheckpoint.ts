import * as fs from 'node:fs';
import * as path from 'node:path';
import YAML from 'yaml';
import { DEFAULT_CROP, type CropGeometry } from '../data/landmarks/crop';
import { UserError } from '../errors';
import { Discriminator } from '../models/discriminator';
import { Embedder } from '../models/embedder';
import { Generator } from '../models/generator';
import { loadWeights } from '../models/weights';
import { printable } from '../oneLine';
import { MANIFEST_FILE, readCheckpointInfo, type CheckpointInfo } from './checkpoint';
import { parseTrainConfig, type TrainConfig } from './config';

/** How the training frames were made: new faces must be framed and drawn the same way. */
export interface TrainingFraming {
  size: number;
  crop: CropGeometry;
  background: 'black' | 'white';
}

/** A meta-learning checkpoint opened for its weights: what fine-tuning and animation start from. */
export interface MetaCheckpoint extends CheckpointInfo {
  /** The run's resolved config, as saved in the checkpoint. */
  trainConfig: TrainConfig;
  framing: TrainingFraming;
  /** A short identity of these weights: the step and the start of the model file's SHA-256. */
  id: string;
}

export function metaCheckpointId(step: number, modelSha256: string): string {
  return `step-${step}-${modelSha256.slice(0, 12)}`;
}

/** Opens a meta-learning run directory (its latest checkpoint) or one checkpoint directory. */
export async function openMetaCheckpoint(given: string): Promise<MetaCheckpoint> {
  const info = await readCheckpointInfo(given);
  const where = `${printable(path.join(info.dir, 'manifest.json'))}: its config`;
  let value: unknown;
  try {
    value = YAML.parse(info.config);
  } catch (err) {
    throw new UserError(`${where} is not valid YAML (${printable((err as Error).message)})`);
  }
  const trainConfig = parseTrainConfig(value, where);
  const framing = {
    size: trainConfig.model.imageSize,
    crop: cropOf(info.data) ?? DEFAULT_CROP,
    background: trainConfig.data.background,
  };
  return { ...info, trainConfig, framing, id: metaCheckpointId(info.step, info.modelSha256) };
}

/** The crop rule train-meta records in a checkpoint; undefined if there is none. */
function cropOf(data: unknown): CropGeometry | undefined {
  const crop = (data as { crop?: Partial<CropGeometry> } | null)?.crop;
  return crop && typeof crop.scale === 'number' && typeof crop.offsetY === 'number'
    ? { scale: crop.scale, offsetY: crop.offsetY }
    : undefined;
}

/**
 * The meta-learned model this package ships (checkpoints/cpu128, trained with configs/cpu128.yaml
 * on the bundled corpus; its README is the model card): what finetune, evaluate, animate and
 * export-onnx start from when no --checkpoint is given.
 */
export const SHIPPED_MODEL_DIR = path.resolve(__dirname, '..', '..', 'checkpoints', 'cpu128');

/** The shipped model's directory; a UserError if the package lost it. */
export function defaultMetaCheckpoint(dir = SHIPPED_MODEL_DIR): string {
  if (!fs.existsSync(path.join(dir, MANIFEST_FILE)))
    throw new UserError(
      `${printable(dir)}: the shipped model is missing (no ${MANIFEST_FILE}); ` +
        'give --checkpoint a meta-learning run, or reinstall the package',
    );
  return dir;
}

export interface MetaNetworksForPerson {
  embedder: Embedder;
  generator: Generator;
  /** With one unused W column: a person's D uses w' = w0 + ê_NEW instead (docs/method.md). */
  discriminator: Discriminator;
}

/** The name of D's per-video matrix in weight files: never needed for a new person. */
export const VIDEO_MATRIX = 'discriminator.W';

/**
 * E, G and D with the checkpoint's weights, for a new person. W (one column per training video,
 * 74M values at the paper's scale) is not loaded: fine-tuning replaces W_i + w0 by w'.
 */
export async function loadMetaNetworks(checkpoint: MetaCheckpoint): Promise<MetaNetworksForPerson> {
  const model = checkpoint.trainConfig.model;
  const networks = {
    embedder: new Embedder(model),
    generator: new Generator(model),
    discriminator: new Discriminator(model, 1),
  };
  try {
    await loadWeights(checkpoint.modelFile, networks, { skip: (name) => name === VIDEO_MATRIX });
  } catch (err) {
    Object.values(networks).forEach((n) => n.dispose());
    throw err;
  }
  return networks;
}
