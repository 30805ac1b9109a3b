/**
 * Checkpoints of a training run, for resuming a run that goes on for days. Under the run
 * directory:
 *
 *   checkpoints/step-000001200/model.safetensors       every network's weights (saveWeights)
 *   checkpoints/step-000001200/optimizers.safetensors  every optimizer's state (and `extra`)
 *   checkpoints/step-000001200/manifest.json           step, RNG state, config, file checksums
 *   checkpoints/latest                                  the name of the newest complete one
 *
 * A checkpoint is written into `checkpoints/.tmp-...` and renamed into place only once complete
 * and synced, and `latest` is replaced atomically after that, so a crash at any moment leaves
 * `latest` naming a complete checkpoint. One process writes a run's checkpoints at a time.
 */
import { createHash } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../errors';
import type { LayerVariable } from '../models/layers/moduleLayer';
import {
  rawToTensor,
  readSafetensorsFile,
  tensorToRaw,
  writeSafetensorsFile,
  type RawTensor,
} from '../models/safetensors';
import { loadWeights, saveWeights, type NamedModules } from '../models/weights';
import { fileError, printable, quote } from '../oneLine';
import { syncDirectory } from '../syncDirectory';

export const CHECKPOINT_FORMAT = 1;
export const MODEL_FILE = 'model.safetensors';
export const OPTIMIZERS_FILE = 'optimizers.safetensors';
export const MANIFEST_FILE = 'manifest.json';
const CHECKPOINTS_DIR = 'checkpoints';
const LATEST_FILE = 'latest';
/** Prefix of everything being written or deleted; never a checkpoint, removed by the next save. */
const TEMP_PREFIX = '.tmp-';
/** step-000001200, or step-000001200.1 when a checkpoint of that step already exists. */
const NAME_PATTERN = /^step-(\d+)(?:\.(\d+))?$/;

/** An optimizer and the variables it updates, by stable weight name (collectWeights' names). */
export interface CheckpointOptimizer {
  optimizer: tf.Optimizer;
  variables: Map<string, tf.Variable | LayerVariable>;
}

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

export interface CheckpointEntry {
  step: number;
  /** The directory's name ('step-000001200'). */
  name: string;
  dir: string;
}

/** Where a save has got to; a caller may log these (and the crash tests stop a save at each). */
export type SaveStage = 'started' | 'staged' | 'committed' | 'published';

export interface SaveCheckpointOptions {
  /** How many checkpoints to keep, the one being written included. */
  keep: number;
  onStage?: (stage: SaveStage, dir: string) => void | Promise<void>;
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

interface FileRecord {
  bytes: number;
  sha256: string;
}

interface Manifest {
  format: number;
  step: number;
  createdAt: string;
  rng: unknown;
  config: string;
  data?: unknown;
  files: Record<string, FileRecord>;
}

// ---------------------------------------------------------------------------------------------
// Saving

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
  if (!Number.isSafeInteger(step) || step < 0)
    throw new Error(`saveCheckpoint: step must be a non-negative integer, got ${step}`);
  if (!Number.isInteger(options.keep) || options.keep < 1)
    throw new UserError(`checkpoints to keep must be a positive integer, got ${options.keep}`);
  const stage = options.onStage ?? (() => undefined);
  const root = path.join(runDir, CHECKPOINTS_DIR);
  await makeDirectory(root);
  await removeLeftovers(root);

  const name = await freeName(root, step);
  const dir = path.join(root, name);
  const temporary = path.join(root, `${TEMP_PREFIX}${name}-${process.pid}`);
  await makeDirectory(temporary);
  try {
    await stage('started', temporary);

    // Read the optimizers first: a bug there (a variable missing from a map) then writes nothing.
    const [optimizerTensors, optimizerMetadata] = await optimizerStates(
      state.optimizers,
      state.extra ?? {},
    );
    await saveWeights(path.join(temporary, MODEL_FILE), state.modules, { step: String(step) });
    await writeSafetensorsFile(
      path.join(temporary, OPTIMIZERS_FILE),
      optimizerTensors,
      optimizerMetadata,
    );
    // Checksums of what is on disk, read back, rather than of the bytes meant to be written.
    const files: Record<string, FileRecord> = {};
    for (const file of [MODEL_FILE, OPTIMIZERS_FILE])
      files[file] = await fileRecord(path.join(temporary, file), 'write');
    const manifest: Manifest = {
      format: CHECKPOINT_FORMAT,
      step,
      createdAt: new Date().toISOString(),
      rng: state.rng ?? null,
      config: state.config,
      ...(state.data === undefined ? {} : { data: state.data }),
      files,
    };
    await writeDurably(
      path.join(temporary, MANIFEST_FILE),
      `${JSON.stringify(manifest, null, 2)}\n`,
    );
  } catch (err) {
    // A failed save (a full disk) leaves nothing behind; a crash leaves what the next removes.
    await fsp.rm(temporary, { recursive: true, force: true }).catch(() => undefined);
    throw err;
  }
  await syncDirectory(temporary);
  await stage('staged', temporary);

  await renameOrFail(temporary, dir);
  await syncDirectory(root);
  await stage('committed', dir);

  const latestTemporary = path.join(root, `${TEMP_PREFIX}${LATEST_FILE}-${process.pid}`);
  await writeDurably(latestTemporary, `${name}\n`);
  await renameOrFail(latestTemporary, path.join(root, LATEST_FILE));
  await syncDirectory(root);
  await stage('published', dir);

  await prune(root, name, options.keep);
  return { step, name, dir };
}

/** step-000001200, or the first free step-000001200.N when resuming saved that step again. */
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
  await makeDirectory(dir);
  const temporary = (file: string) => path.join(dir, `${TEMP_PREFIX}${file}-${process.pid}`);
  const staged = [temporary(MODEL_FILE), temporary(MANIFEST_FILE)] as const;
  try {
    await writeSafetensorsFile(staged[0], checkpoint.tensors, {
      format: 'talking-heads',
      step: String(checkpoint.step),
      ...checkpoint.metadata,
    });
    const manifest: Manifest = {
      format: CHECKPOINT_FORMAT,
      step: checkpoint.step,
      createdAt: new Date().toISOString(),
      rng: null,
      config: checkpoint.config,
      ...(checkpoint.data === undefined ? {} : { data: checkpoint.data }),
      files: { [MODEL_FILE]: await fileRecord(staged[0], 'write') },
    };
    await writeDurably(staged[1], `${JSON.stringify(manifest, null, 2)}\n`);
    await renameOrFail(staged[0], path.join(dir, MODEL_FILE));
    await renameOrFail(staged[1], path.join(dir, MANIFEST_FILE));
    await syncDirectory(dir);
  } finally {
    for (const file of staged) await fsp.rm(file, { force: true }).catch(() => undefined);
  }
}

async function freeName(root: string, step: number): Promise<string> {
  const base = `step-${String(step).padStart(9, '0')}`;
  for (let revision = 0; ; revision++) {
    const name = revision === 0 ? base : `${base}.${revision}`;
    if (!(await exists(path.join(root, name)))) return name;
  }
}

/** Deletes `.tmp-*` entries: saves or deletions that a crash interrupted. */
async function removeLeftovers(root: string): Promise<void> {
  for (const entry of await readDirectory(root)) {
    if (entry.startsWith(TEMP_PREFIX)) await removeTree(path.join(root, entry));
  }
}

/**
 * Keeps the last `keep` checkpoints by step and the one just written. Each is renamed to a
 * temporary name before it is deleted, so a crash mid-deletion leaves no half checkpoint.
 */
async function prune(root: string, written: string, keep: number): Promise<void> {
  const all = await listIn(root);
  const doomed = all.slice(0, Math.max(0, all.length - keep)).filter((c) => c.name !== written);
  for (const { name, dir } of doomed) {
    const trash = path.join(root, `${TEMP_PREFIX}pruned-${name}-${process.pid}`);
    await renameOrFail(dir, trash);
    await removeTree(trash);
  }
}

// ---------------------------------------------------------------------------------------------
// Listing and loading

/** The run's complete checkpoints (renamed into place), sorted by step; [] if none. */
export async function listCheckpoints(runDir: string): Promise<CheckpointEntry[]> {
  return listIn(path.join(runDir, CHECKPOINTS_DIR));
}

async function listIn(root: string): Promise<CheckpointEntry[]> {
  let entries: string[];
  try {
    entries = await fsp.readdir(root);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw fileError(root, err, 'read', 'a directory');
  }
  const found: (CheckpointEntry & { revision: number })[] = [];
  for (const name of entries) {
    const match = NAME_PATTERN.exec(name);
    if (!match) continue;
    const dir = path.join(root, name);
    if (!(await isDirectory(dir))) continue;
    found.push({ step: Number(match[1]), revision: Number(match[2] ?? 0), name, dir });
  }
  found.sort((a, b) => a.step - b.step || a.revision - b.revision);
  return found.map(({ step, name, dir }) => ({ step, name, dir }));
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
  for (const file of [MODEL_FILE, OPTIMIZERS_FILE]) {
    const record = manifest.files[file];
    if (record == null)
      throw new UserError(`${printable(path.join(dir, MANIFEST_FILE))}: lists no ${file}`);
    await verifyFile(path.join(dir, file), record);
  }
  await loadWeights(path.join(dir, MODEL_FILE), target.modules);
  await restoreOptimizers(path.join(dir, OPTIMIZERS_FILE), target.optimizers, target.extra ?? {});
  return {
    step: manifest.step,
    rng: manifest.rng,
    config: manifest.config,
    createdAt: manifest.createdAt,
    data: manifest.data ?? null,
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
  const record = manifest.files[MODEL_FILE];
  if (record == null)
    throw new UserError(`${printable(path.join(dir, MANIFEST_FILE))}: lists no ${MODEL_FILE}`);
  const modelFile = path.join(dir, MODEL_FILE);
  await verifyFile(modelFile, record);
  return {
    dir,
    step: manifest.step,
    config: manifest.config,
    createdAt: manifest.createdAt,
    rng: manifest.rng,
    data: manifest.data ?? null,
    modelFile,
    modelSha256: record.sha256,
  };
}

async function resolveCheckpointDir(given: string): Promise<string> {
  const root = path.join(given, CHECKPOINTS_DIR);
  if (!(await isDirectory(root))) {
    if (await exists(path.join(given, MANIFEST_FILE))) return given;
    throw new UserError(
      `${printable(path.join(given, MANIFEST_FILE))}: no such file: ${printable(given)} is ` +
        'neither a checkpoint (or its save did not finish) nor a run directory',
    );
  }
  const latest = path.join(root, LATEST_FILE);
  let text: string;
  try {
    text = await fsp.readFile(latest, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new UserError(`${printable(latest)}: no such file: no checkpoint of this run finished`);
    throw fileError(latest, err, 'read');
  }
  const name = text.trim();
  if (!NAME_PATTERN.test(name))
    throw new UserError(`${printable(latest)}: names ${quote(name)}, not a checkpoint directory`);
  return path.join(root, name);
}

async function readManifest(dir: string): Promise<Manifest> {
  const file = path.join(dir, MANIFEST_FILE);
  const where = printable(file);
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new UserError(`${where}: no such file: not a checkpoint, or an incomplete one`);
    throw fileError(file, err, 'read', 'a checkpoint manifest');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new UserError(`${where}: not valid JSON (${printable((err as Error).message)})`);
  }
  if (!isObject(value)) throw new UserError(`${where}: not a checkpoint manifest`);
  if (value.format !== CHECKPOINT_FORMAT)
    throw new UserError(
      `${where}: checkpoint format ${printable(JSON.stringify(value.format) ?? 'missing')}, ` +
        `this version reads format ${CHECKPOINT_FORMAT}`,
    );
  const bad = (field: string, why: string) => new UserError(`${where}: '${field}' ${why}`);
  const { step, createdAt, config, files } = value;
  if (!Number.isSafeInteger(step) || (step as number) < 0)
    throw bad('step', 'is not a non-negative integer');
  if (typeof createdAt !== 'string') throw bad('createdAt', 'is not a string');
  if (typeof config !== 'string') throw bad('config', 'is not a string');
  if (!isObject(files)) throw bad('files', 'is not an object');
  for (const [name, record] of Object.entries(files)) {
    if (
      !isObject(record) ||
      !Number.isSafeInteger(record.bytes) ||
      typeof record.sha256 !== 'string'
    )
      throw bad(`files.${name}`, 'is not {bytes, sha256}');
  }
  return {
    format: CHECKPOINT_FORMAT,
    step: step as number,
    createdAt,
    rng: value.rng ?? null,
    config,
    data: value.data ?? null,
    files: files as Record<string, FileRecord>,
  };
}

/** The file must have the size and SHA-256 the manifest recorded when it was written. */
async function verifyFile(file: string, record: FileRecord): Promise<void> {
  const actual = await fileRecord(file, 'read');
  if (actual.bytes !== record.bytes)
    throw new UserError(
      `${printable(file)}: ${actual.bytes} bytes, the manifest records ${record.bytes}: ` +
        'truncated or overwritten',
    );
  if (actual.sha256 !== record.sha256)
    throw new UserError(
      `${printable(file)}: contents do not match the manifest's SHA-256: the file is corrupted`,
    );
}

// ---------------------------------------------------------------------------------------------
// Optimizer state
//
// tfjs optimizers give their state as getWeights(): first the iteration count ('iter'), then
// one slot per variable and kind, named after the tfjs variable ('Variable_12/m'). Those names
// differ from one process to the next, so the file names each slot after our stable weight name
// instead: optimizer.<optimizer>.<weight>/<kind>. tfjs matches slots to gradients by position,
// not by name, so the slot order is kept too (in the metadata) and restored as is.
// The caller's extra variables go in the same file as extra.<name>.

const ITERATIONS = 'iterations';
const EXTRA_PREFIX = 'extra.';
/** Adam's running beta powers, which getWeights leaves out (see adamBetaPowers). */
const ADAM_BETA_POWERS = ['accBeta1', 'accBeta2'] as const;

interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}

/** The tensors and metadata of optimizers.safetensors. */
async function optimizerStates(
  optimizers: Record<string, CheckpointOptimizer>,
  extra: Record<string, tf.Variable>,
): Promise<[Record<string, RawTensor>, Record<string, string>]> {
  const tensors: Record<string, RawTensor> = {};
  const metadata: Record<string, string> = { format: 'talking-heads-optimizers' };
  for (const [key, { optimizer, variables }] of Object.entries(optimizers)) {
    const prefix = `optimizer.${key}.`;
    const stableNames = new Map<string, string>();
    for (const [name, variable] of variables) stableNames.set(tfjsName(variable), name);
    const [iterations, ...slots] = (await optimizer.getWeights()) as NamedTensor[];
    tensors[prefix + ITERATIONS] = tensorToRaw(iterations!.tensor);
    iterations!.tensor.dispose(); // a fresh scalar; the slots are the optimizer's own variables
    const order: string[] = [];
    for (const { name, tensor } of slots) {
      const slash = name.lastIndexOf('/');
      const stable = stableNames.get(name.slice(0, slash));
      if (slash < 0 || stable == null)
        throw new Error(
          `saveCheckpoint: optimizer '${key}' holds state ${quote(name)} for a variable ` +
            'missing from its variables map',
        );
      const slot = `${stable}${name.slice(slash)}`;
      order.push(slot);
      tensors[prefix + slot] = tensorToRaw(tensor);
    }
    const betaPowers = adamBetaPowers(optimizer);
    if (betaPowers)
      ADAM_BETA_POWERS.forEach((n, i) => (tensors[prefix + n] = tensorToRaw(betaPowers[i]!)));
    metadata[`${prefix}class`] = optimizer.getClassName();
    metadata[`${prefix}slots`] = JSON.stringify(order);
  }
  for (const [name, variable] of Object.entries(extra))
    tensors[`${EXTRA_PREFIX}${name}`] = tensorToRaw(variable);
  return [tensors, metadata];
}

/** Checks every optimizer's state and extra variable in the file, then sets them all. */
async function restoreOptimizers(
  file: string,
  optimizers: Record<string, CheckpointOptimizer>,
  extra: Record<string, tf.Variable>,
): Promise<void> {
  const { tensors, metadata } = await readSafetensorsFile(file);
  const where = printable(file);
  const used = new Set<string>();
  const take = (name: string, shape: readonly number[]): RawTensor => {
    const raw = tensors[name];
    if (raw == null) throw new UserError(`${where}: missing tensor ${quote(name)}`);
    if (!sameShape(raw.shape, shape))
      throw new UserError(
        `${where}: tensor ${quote(name)} has shape [${raw.shape}], the variable needs [${shape}]`,
      );
    used.add(name);
    return raw;
  };

  const plans: { optimizer: tf.Optimizer; weights: [string, RawTensor][]; betas?: RawTensor[] }[] =
    [];
  for (const [key, { optimizer, variables }] of Object.entries(optimizers)) {
    const prefix = `optimizer.${key}.`;
    const saved = metadata[`${prefix}class`];
    if (saved == null) throw new UserError(`${where}: holds no state for optimizer '${key}'`);
    if (saved !== optimizer.getClassName())
      throw new UserError(
        `${where}: optimizer '${key}' was ${quote(saved)}, the run uses ` +
          `${quote(optimizer.getClassName())}`,
      );
    const order = parseSlots(metadata[`${prefix}slots`], `${where}: ${prefix}slots`);
    const weights: [string, RawTensor][] = [['iter', take(prefix + ITERATIONS, [])]];
    for (const slot of order) {
      const slash = slot.lastIndexOf('/');
      const variable = slash < 0 ? undefined : variables.get(slot.slice(0, slash));
      if (variable == null)
        throw new UserError(
          `${where}: state ${quote(prefix + slot)} is for a variable optimizer '${key}' ` +
            'does not have: a checkpoint of another model?',
        );
      const raw = take(prefix + slot, variable.shape as number[]);
      weights.push([`${tfjsName(variable)}${slot.slice(slash)}`, raw]);
    }
    const betas = adamBetaPowers(optimizer)
      ? ADAM_BETA_POWERS.map((n) => take(prefix + n, []))
      : undefined;
    plans.push({ optimizer, weights, betas });
  }
  const extraValues = Object.entries(extra).map(
    ([name, variable]) => [variable, take(EXTRA_PREFIX + name, variable.shape)] as const,
  );
  const unexpected = Object.keys(tensors).find((name) => !used.has(name));
  if (unexpected != null)
    throw new UserError(
      `${where}: unexpected tensor ${quote(unexpected)}: state of another run's optimizers?`,
    );

  for (const [variable, raw] of extraValues) {
    const value = rawToTensor(raw, file);
    variable.assign(value);
    value.dispose();
  }
  for (const { optimizer, weights, betas } of plans) {
    const values = weights.map(([name, raw]) => ({ name, tensor: rawToTensor(raw, file) }));
    const previous = (await optimizer.getWeights()) as NamedTensor[];
    await optimizer.setWeights(values);
    // setWeights makes new slot variables: free the old ones and our copies.
    tf.dispose([...previous.map((w) => w.tensor), ...values.map((w) => w.tensor)]);
    const powers = adamBetaPowers(optimizer);
    if (powers && betas)
      powers.forEach((power, i) => {
        const value = rawToTensor(betas[i]!, file);
        power.assign(value);
        value.dispose();
      });
  }
}

/**
 * Adam's bias corrections use beta1^t and beta2^t, kept as running products. setWeights
 * recomputes them with pow(), which differs from the product in the last bits after a few
 * steps, so a restored Adam would not continue exactly; the checkpoint keeps the products.
 * They are private fields: this returns them only if they are there, as variables.
 */
function adamBetaPowers(optimizer: tf.Optimizer): tf.Variable[] | undefined {
  if (optimizer.getClassName() !== 'Adam') return undefined;
  const fields = optimizer as unknown as Record<string, unknown>;
  const powers = ADAM_BETA_POWERS.map((n) => fields[n]);
  if (!powers.every((p) => p instanceof tf.Variable))
    throw new Error("tfjs's AdamOptimizer no longer has accBeta1/accBeta2 variables");
  return powers as tf.Variable[];
}

function parseSlots(text: string | undefined, where: string): string[] {
  let value: unknown;
  try {
    value = JSON.parse(text ?? '');
  } catch {
    throw new UserError(`${where}: missing or not JSON`);
  }
  if (!Array.isArray(value) || !value.every((s) => typeof s === 'string'))
    throw new UserError(`${where}: not a list of names`);
  return value as string[];
}

/** The engine's name of the variable, which tfjs optimizers key their state by. */
function tfjsName(variable: tf.Variable | LayerVariable): string {
  return variable instanceof tf.Variable ? variable.name : (variable.read() as tf.Variable).name;
}

// ---------------------------------------------------------------------------------------------
// Files

/** Size and SHA-256 of a file, streamed (checkpoints of the paper's networks are ~1 GB). */
async function fileRecord(file: string, action: 'read' | 'write'): Promise<FileRecord> {
  const hash = createHash('sha256');
  let bytes = 0;
  try {
    for await (const chunk of createReadStream(file)) {
      hash.update(chunk as Buffer);
      bytes += (chunk as Buffer).length;
    }
  } catch (err) {
    throw fileError(file, err, action);
  }
  return { bytes, sha256: hash.digest('hex') };
}

/** Creates `file` (which must not exist) with `text`, synced to disk before it returns. */
async function writeDurably(file: string, text: string): Promise<void> {
  try {
    const handle = await fsp.open(file, 'wx');
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (err) {
    throw fileError(file, err, 'write');
  }
}

async function makeDirectory(dir: string): Promise<void> {
  try {
    await fsp.mkdir(dir, { recursive: true });
  } catch (err) {
    throw fileError(dir, err, 'write', 'a directory');
  }
}

async function renameOrFail(from: string, to: string): Promise<void> {
  try {
    await fsp.rename(from, to);
  } catch (err) {
    throw fileError(to, err, 'write', 'a checkpoint');
  }
}

async function removeTree(target: string): Promise<void> {
  try {
    await fsp.rm(target, { recursive: true, force: true });
  } catch (err) {
    throw fileError(target, err, 'write');
  }
}

async function readDirectory(dir: string): Promise<string[]> {
  try {
    return await fsp.readdir(dir);
  } catch (err) {
    throw fileError(dir, err, 'read', 'a directory');
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await fsp.lstat(file);
    return true;
  } catch {
    return false;
  }
}

async function isDirectory(file: string): Promise<boolean> {
  try {
    return (await fsp.stat(file)).isDirectory();
  } catch {
    return false;
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
