/**
 * Where a run's checkpoints live and how one is committed so that a crash at any moment leaves
 * `latest` naming a complete checkpoint. Under the run directory:
 *
 *   checkpoints/step-000001200/    one checkpoint (what is in it is checkpoint.ts's business)
 *   checkpoints/step-000001200.1/  a second one of the same step (a resumed run saved it again)
 *   checkpoints/latest             the name of the newest complete one
 *   checkpoints/.tmp-...           being written or deleted; never a checkpoint
 *
 * A checkpoint is written into `checkpoints/.tmp-...` and renamed into place only once complete
 * and synced, and `latest` is replaced atomically after that; then all but the last N are
 * deleted. One process writes a run's checkpoints at a time.
 */
import * as path from 'node:path';
import { UserError } from '../errors';
import {
  exists,
  isDirectory,
  makeDirectory,
  readDirectory,
  readDirectoryIfExists,
  readTextIfExists,
  removeQuietly,
  removeTree,
  renameDurably,
  syncDirectory,
  writeNewFile,
} from '../fileSystem';
import { printable, quote } from '../oneLine';
import { MANIFEST_FILE } from './checkpointManifest';

const CHECKPOINTS_DIR = 'checkpoints';
const LATEST_FILE = 'latest';
/** Prefix of everything being written or deleted; never a checkpoint, removed by the next save. */
const TEMP_PREFIX = '.tmp-';
/** step-000001200, or step-000001200.1 when a checkpoint of that step already exists. */
const NAME_PATTERN = /^step-(\d+)(?:\.(\d+))?$/;

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

/**
 * Commits a checkpoint of `step` under `runDir`/checkpoints: `write` fills a temporary
 * directory (its files synced, as fileSystem's writers do), which is then synced and renamed
 * into place; `latest` is pointed at it, and all but the last `keep` checkpoints (by step; never
 * the new one) are deleted. Leftovers of saves that crashed are removed first. If `write` fails
 * nothing is left behind.
 */
export async function commitCheckpoint(
  runDir: string,
  step: number,
  options: SaveCheckpointOptions,
  write: (dir: string) => Promise<void>,
): Promise<CheckpointEntry> {
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
    await write(temporary);
  } catch (err) {
    // A failed save (a full disk) leaves nothing behind; a crash leaves what the next removes.
    await removeQuietly(temporary);
    throw err;
  }
  await syncDirectory(temporary);
  await stage('staged', temporary);

  await renameDurably(temporary, dir, 'a checkpoint');
  await stage('committed', dir);

  const latestTemporary = path.join(root, `${TEMP_PREFIX}${LATEST_FILE}-${process.pid}`);
  await writeNewFile(latestTemporary, `${name}\n`);
  await renameDurably(latestTemporary, path.join(root, LATEST_FILE), 'a checkpoint');
  await stage('published', dir);

  await prune(root, name, options.keep);
  return { step, name, dir };
}

/**
 * Replaces files in `dir` (created if need be) that readers may open meanwhile: `write` gets a
 * temporary path in `dir` for each of `names` and writes them; they are then renamed over the
 * real names in the order given, the one that vouches for the others (a manifest) last, and
 * the directory is synced. Other files in `dir` are left alone; temporaries are always removed.
 */
export async function replaceFilesInDirectory(
  dir: string,
  names: readonly string[],
  write: (staged: readonly string[]) => Promise<void>,
): Promise<void> {
  await makeDirectory(dir);
  const staged = names.map((name) => path.join(dir, `${TEMP_PREFIX}${name}-${process.pid}`));
  try {
    await write(staged);
    for (const [i, name] of names.entries())
      await renameDurably(staged[i]!, path.join(dir, name), 'a checkpoint');
  } finally {
    for (const file of staged) await removeQuietly(file);
  }
}

/** step-000001200, or the first free step-000001200.N when resuming saved that step again. */
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
    await renameDurably(dir, trash, 'a checkpoint');
    await removeTree(trash);
  }
}

/** The run's complete checkpoints (renamed into place), sorted by step; [] if none. */
export async function listCheckpoints(runDir: string): Promise<CheckpointEntry[]> {
  return listIn(path.join(runDir, CHECKPOINTS_DIR));
}

async function listIn(root: string): Promise<CheckpointEntry[]> {
  const entries = (await readDirectoryIfExists(root)) ?? [];
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
 * The checkpoint directory that `given` names: the one `latest` names when given a run
 * directory, or `given` itself when it holds a manifest.
 */
export async function resolveCheckpointDir(given: string): Promise<string> {
  const root = path.join(given, CHECKPOINTS_DIR);
  if (!(await isDirectory(root))) {
    if (await exists(path.join(given, MANIFEST_FILE))) return given;
    throw new UserError(
      `${printable(path.join(given, MANIFEST_FILE))}: no such file: ${printable(given)} is ` +
        'neither a checkpoint (or its save did not finish) nor a run directory',
    );
  }
  const latest = path.join(root, LATEST_FILE);
  const text = await readTextIfExists(latest);
  if (text === undefined)
    throw new UserError(`${printable(latest)}: no such file: no checkpoint of this run finished`);
  const name = text.trim();
  if (!NAME_PATTERN.test(name))
    throw new UserError(`${printable(latest)}: names ${quote(name)}, not a checkpoint directory`);
  return path.join(root, name);
}
