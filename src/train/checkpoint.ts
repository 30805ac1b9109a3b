/**
 * Checkpoints of a training run, for resuming a run that goes on for days: the public entry.
 * Each checkpoint directory (laid out and committed crash-safely by checkpointCommit.ts) holds
 *
 *   model.safetensors       every network's weights (saveWeights)
 *   optimizers.safetensors  every optimizer's state and `extra` (optimizerState.ts)
 *   manifest.json           step, RNG state, config, file checksums (checkpointManifest.ts)
 *
 * A shipped model (saveWeightsCheckpoint) is such a directory without the optimizer state.
 */
import * as path from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { sizeAndSha256 } from '../fileSystem';
import { writeSafetensorsFile, type RawTensor } from '../formats/safetensors';
import { loadWeights, saveWeights, type NamedModules } from '../models/weights';
import {
  commitCheckpoint,
  replaceFilesInDirectory,
  resolveCheckpointDir,
  type CheckpointEntry,
  type SaveCheckpointOptions,
} from './checkpointCommit';
import {
  CHECKPOINT_FORMAT,
  MANIFEST_FILE,
  listedFile,
  readManifest,
  verifyFile,
  writeManifest,
  type FileRecord,
} from './checkpointManifest';
import {
  collectOptimizerState,
  restoreOptimizerState,
  type CheckpointOptimizer,
} from './optimizerState';

export {
  listCheckpoints,
  type CheckpointEntry,
  type SaveCheckpointOptions,
  type SaveStage,
} from './checkpointCommit';
export { CHECKPOINT_FORMAT, MANIFEST_FILE } from './checkpointManifest';
export type { CheckpointOptimizer } from './optimizerState';

export const MODEL_FILE = 'model.safetensors';
export const OPTIMIZERS_FILE = 'optimizers.safetensors';

export interface CheckpointState {
  step: number;
  modules: NamedModules;
  /** By a name that prefixes their tensors in optimizers.safetensors ('generator'). */
  optimizers: Record<string, CheckpointOptimizer>;
  /**
   * Other training state held in variables, by name ('W.adam_m': a hand-written optimizer's
   * moments); stored beside the optimizers' as extra.<name>.
   */
  extra?: Record<string, tf.Variable>;
  /** The random generators' states: any JSON value, returned as is by loadCheckpoint. */
  rng: unknown;
  /** The resolved run configuration (YAML text), returned as is by loadCheckpoint. */
  config: string;
  /**
   * How the training frames were made (the store's size, crop rule and landmark drawing): any
   * JSON value; whoever uses the weights on new faces must frame them the same way.
   */
  data?: unknown;
}

/** What a checkpoint is loaded into: built networks, optimizers and extra variables. */
export type CheckpointTarget = Pick<CheckpointState, 'modules' | 'optimizers' | 'extra'>;

export interface LoadedCheckpoint {
  step: number;
  rng: unknown;
  config: string;
  createdAt: string;
  data: unknown;
  /** The checkpoint directory that was loaded. */
  dir: string;
}

/**
 * Writes a checkpoint of `state` under `runDir`/checkpoints, points `latest` at it, then deletes
 * all but the last `keep` checkpoints (by step; never the new one). Returns the new checkpoint.
 * Leftovers of saves that crashed are removed first.
 */
export async function saveCheckpoint(
  runDir: string,
  state: CheckpointState,
  options: SaveCheckpointOptions,
): Promise<CheckpointEntry> {
  const { step } = state;
  return commitCheckpoint(runDir, step, options, async (dir) => {
    // Read the optimizers first: a bug there (a variable missing from a map) then writes nothing.
    const optimizers = await collectOptimizerState(state.optimizers, state.extra ?? {});
    await saveWeights(path.join(dir, MODEL_FILE), state.modules, { step: String(step) });
    await writeSafetensorsFile(
      path.join(dir, OPTIMIZERS_FILE),
      optimizers.tensors,
      optimizers.metadata,
    );
    // Checksums of what is on disk, read back, rather than of the bytes meant to be written.
    const files: Record<string, FileRecord> = {};
    for (const file of [MODEL_FILE, OPTIMIZERS_FILE])
      files[file] = await sizeAndSha256(path.join(dir, file), 'write');
    await writeManifest(path.join(dir, MANIFEST_FILE), {
      format: CHECKPOINT_FORMAT,
      step,
      createdAt: new Date().toISOString(),
      rng: state.rng ?? null,
      config: state.config,
      ...(state.data === undefined ? {} : { data: state.data }),
      files,
    });
  });
}

/** What a weights-only checkpoint holds: a model to start from, not a run to resume. */
export interface WeightsCheckpoint {
  step: number;
  config: string;
  data?: unknown;
  tensors: Record<string, RawTensor>;
  metadata?: Record<string, string>;
}

/**
 * Writes model.safetensors and its manifest into `dir` (a shipped model: no optimizer state),
 * readable by readCheckpointInfo; other files there (a model card) are left alone. Each file is
 * written to a temporary name and renamed, the manifest last: a crash between the two leaves a
 * checksum mismatch that readCheckpointInfo reports, never a model silently half-replaced.
 */
export async function saveWeightsCheckpoint(
  dir: string,
  checkpoint: WeightsCheckpoint,
): Promise<void> {
  await replaceFilesInDirectory(dir, [MODEL_FILE, MANIFEST_FILE], async ([model, manifest]) => {
    await writeSafetensorsFile(model, checkpoint.tensors, {
      format: 'talking-heads',
      step: String(checkpoint.step),
      ...checkpoint.metadata,
    });
    await writeManifest(manifest, {
      format: CHECKPOINT_FORMAT,
      step: checkpoint.step,
      createdAt: new Date().toISOString(),
      rng: null,
      config: checkpoint.config,
      ...(checkpoint.data === undefined ? {} : { data: checkpoint.data }),
      files: { [MODEL_FILE]: await sizeAndSha256(model, 'write') },
    });
  });
}

/**
 * Loads a checkpoint into built networks and optimizers: the one `latest` names when given a
 * run directory, or the checkpoint directory given. The manifest, the files' sizes and
 * checksums, every tensor's name and shape are checked first; each problem is a one-line
 * UserError naming the file. The networks are written before the optimizer state is checked,
 * so after a UserError they may hold the checkpoint's weights: the caller should give up.
 */
export async function loadCheckpoint(
  runDirOrCheckpointDir: string,
  target: CheckpointTarget,
): Promise<LoadedCheckpoint> {
  const dir = await resolveCheckpointDir(runDirOrCheckpointDir);
  const manifest = await readManifest(dir);
  for (const file of [MODEL_FILE, OPTIMIZERS_FILE])
    await verifyFile(path.join(dir, file), listedFile(manifest, dir, file));
  await loadWeights(path.join(dir, MODEL_FILE), target.modules);
  await restoreOptimizerState(
    path.join(dir, OPTIMIZERS_FILE),
    target.optimizers,
    target.extra ?? {},
  );
  return {
    step: manifest.step,
    rng: manifest.rng,
    config: manifest.config,
    createdAt: manifest.createdAt,
    data: manifest.data,
    dir,
  };
}

/** A checkpoint's manifest, checked, with its model file verified against it. */
export interface CheckpointInfo {
  /** The checkpoint directory (resolved through `latest` when given a run directory). */
  dir: string;
  step: number;
  config: string;
  createdAt: string;
  rng: unknown;
  /** How the training frames were made (CheckpointState.data); null if the saver gave none. */
  data: unknown;
  /** model.safetensors, verified against the manifest's size and SHA-256. */
  modelFile: string;
  /** The model file's SHA-256: what identifies these weights wherever the files are copied. */
  modelSha256: string;
}

/**
 * Opens a checkpoint for its weights only (fine-tuning, animation, export): the one `latest`
 * names when given a run directory, or the checkpoint directory given. The optimizer state is
 * neither read nor needed.
 */
export async function readCheckpointInfo(runDirOrCheckpointDir: string): Promise<CheckpointInfo> {
  const dir = await resolveCheckpointDir(runDirOrCheckpointDir);
  const manifest = await readManifest(dir);
  const record = listedFile(manifest, dir, MODEL_FILE);
  const modelFile = path.join(dir, MODEL_FILE);
  await verifyFile(modelFile, record);
  return {
    dir,
    step: manifest.step,
    config: manifest.config,
    createdAt: manifest.createdAt,
    rng: manifest.rng,
    data: manifest.data,
    modelFile,
    modelSha256: record.sha256,
  };
}
