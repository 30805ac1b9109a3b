/**
 * A person model: what `finetune` writes and `animate` reads. A directory holding
 *
 *   person.json            the person: framing, shots' mean geometry, meta checkpoint, settings
 *   shots.safetensors      the K shots (uint8 frames) and their points, as fine-tuning saw them
 *   checkpoints/...        G with psi' and D with w' (checkpoint.ts: atomic, `latest`, resumable)
 *   events.out.tfevents.*  the fine-tuning curves
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { UserError } from '../errors';
import { validateModelConfig, type ModelConfig } from '../models/config';
import { Generator } from '../models/generator';
import { readSafetensorsFile, writeSafetensorsFile } from '../formats/safetensors';
import { loadWeights } from '../models/weights';
import { printable } from '../oneLine';
import { writeFileAtomically } from '../fileSystem';
import { readCheckpointInfo, type CheckpointInfo } from './checkpoint';
import type { TrainingFraming } from './metaCheckpoint';

export const PERSON_FILE = 'person.json';
export const SHOTS_FILE = 'shots.safetensors';
export const PERSON_FORMAT = 1;
const KIND = 'talking-heads person model';

const personSchema = z.object({
  format: z.literal(PERSON_FORMAT),
  kind: z.literal(KIND),
  createdAt: z.string(),
  /** The networks' configuration (the meta checkpoint's). */
  model: z.record(z.string(), z.unknown()),
  framing: z.object({
    size: z.number().int().positive(),
    crop: z.object({ scale: z.number().positive(), offsetY: z.number() }),
    background: z.enum(['black', 'white']),
  }),
  /** The shots' mean landmarks in crop pixels: the geometry drivers are retargeted to. */
  meanPoints: z.array(z.number()).length(136),
  /** Where each shot came from (a photo, or `video.mp4#frame`). */
  shots: z.array(z.string()).min(1),
  metaCheckpoint: z.object({ path: z.string(), id: z.string(), step: z.number().int() }),
  finetune: z.object({
    feedForward: z.boolean(),
    epochs: z.number().int().nonnegative(),
    batchSize: z.number().int().positive(),
    /** Scales of the shots' zoomed-out copies; absent in person models made before them. */
    zoomOut: z.array(z.number().gt(0).lt(1)).optional(),
    lrGenerator: z.number().positive(),
    lrDiscriminator: z.number().positive(),
    dStepsPerGStep: z.number().int().positive(),
  }),
});

export type PersonInfo = Omit<z.output<typeof personSchema>, 'model' | 'framing'> & {
  model: ModelConfig;
  framing: TrainingFraming;
};

/** Writes person.json atomically. */
export async function writePersonInfo(dir: string, info: PersonInfo): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  await writeFileAtomically(
    path.join(dir, PERSON_FILE),
    `${JSON.stringify(info, null, 2)}\n`,
    'a person model file',
  );
}

/** Reads and checks person.json; a missing or malformed one is a UserError naming it. */
export function readPersonInfo(dir: string): PersonInfo {
  const file = path.join(dir, PERSON_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new UserError(
      `${printable(file)}: no such file: ${printable(dir)} is not a person model (make one with \`talking-heads finetune\`)`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new UserError(
      `${printable(file)}: not valid JSON (${printable((err as Error).message)})`,
    );
  }
  const parsed = personSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UserError(
      `${printable(file)}: ${issue.path.join('.') || 'the file'}: ${issue.message}`,
    );
  }
  const model = validateModelConfig(parsed.data.model as unknown as ModelConfig, `${file}: model`);
  return { ...parsed.data, model };
}

export interface StoredShots {
  /** [K, size, size, 3] RGB bytes, row-major, one shot after another. */
  frames: Uint8Array;
  /** [K, 136] points in crop pixels. */
  points: Float32Array;
  count: number;
  size: number;
}

export async function writeShots(dir: string, shots: StoredShots): Promise<void> {
  const { count, size } = shots;
  await writeSafetensorsFile(
    path.join(dir, SHOTS_FILE),
    {
      frames: { dtype: 'U8', shape: [count, size, size, 3], data: shots.frames },
      points: { dtype: 'F32', shape: [count, 136], data: shots.points },
    },
    { format: 'talking-heads-shots' },
  );
}

export async function readShots(dir: string): Promise<StoredShots> {
  const file = path.join(dir, SHOTS_FILE);
  const { tensors } = await readSafetensorsFile(file);
  const { frames, points } = tensors;
  if (frames?.dtype !== 'U8' || frames.shape.length !== 4 || points?.dtype !== 'F32')
    throw new UserError(`${printable(file)}: not a shots file (needs U8 frames and F32 points)`);
  return {
    frames: frames.data as Uint8Array,
    points: points.data as Float32Array,
    count: frames.shape[0]!,
    size: frames.shape[1]!,
  };
}

/** A person model opened for generation. */
export interface PersonModel {
  dir: string;
  info: PersonInfo;
  checkpoint: CheckpointInfo;
  /** G in fine-tuning mode, psi' loaded: generate(landmarkImages) draws the person. */
  generator: Generator;
}

/** A person model's identity: its meta checkpoint's id and the start of its weights' SHA-256. */
export function personModelId(model: Pick<PersonModel, 'info' | 'checkpoint'>): string {
  return `${model.info.metaCheckpoint.id}/person-${model.checkpoint.modelSha256.slice(0, 12)}`;
}

/** Opens a person model for animation: person.json, then G (with psi') from its latest checkpoint. */
export async function openPersonModel(dir: string): Promise<PersonModel> {
  const info = readPersonInfo(dir);
  const checkpoint = await readCheckpointInfo(dir);
  const generator = new Generator(info.model);
  try {
    // psi' must exist before its value can be loaded into it.
    tf.tidy(() => generator.enterFinetuning(tf.zeros([generator.psiLength])));
    await loadWeights(
      checkpoint.modelFile,
      { generator },
      {
        skip: (name) => name.startsWith('discriminator.'),
      },
    );
  } catch (err) {
    generator.dispose();
    throw err;
  }
  return { dir, info, checkpoint, generator };
}
