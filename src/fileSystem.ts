/**
 * The project's file-system helpers: durable writes (synced to disk, renamed into place), and
 * reads, renames and removals whose failures are one-line UserErrors naming the file (`kind`
 * says what the file is: 'a .safetensors file'). Everything that must survive a crash writes
 * through here.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { fileError } from './oneLine';

// ---------------------------------------------------------------------------------------------
// Durable writes

/**
 * Writes `file` atomically: to a temporary file in the same directory, synced to disk, then
 * renamed over `file`, so a crash leaves either the old file or the new one, never half of one.
 * I/O failures are UserErrors naming `file`; the temporary file is removed.
 */
export async function writeFileAtomically(
  file: string,
  data: string | Uint8Array,
  kind?: string,
): Promise<void> {
  const temporary = `${file}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  await moveIntoPlace(temporary, file, kind, () => createSynced(temporary, data));
}

/**
 * Moves a finished file that another writer made (an encoder's output) from `temporary`, in the
 * same directory, over `file` as writeFileAtomically would: synced, renamed, the rename synced.
 * On failure `temporary` is removed.
 */
export async function replaceWithFinishedFile(
  temporary: string,
  file: string,
  kind?: string,
): Promise<void> {
  await moveIntoPlace(temporary, file, kind, async () => {
    const handle = await fsp.open(temporary, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  });
}

async function moveIntoPlace(
  temporary: string,
  file: string,
  kind: string | undefined,
  finish: () => Promise<void>,
): Promise<void> {
  try {
    await finish();
    await fsp.rename(temporary, file);
  } catch (err) {
    await removeQuietly(temporary);
    throw fileError(file, err, 'write', kind);
  }
  await syncDirectory(path.dirname(file));
}

/** Creates `file`, which must not exist, with `data`, synced to disk before it returns. */
export async function writeNewFile(
  file: string,
  data: string | Uint8Array,
  kind?: string,
): Promise<void> {
  await orFail(file, 'write', kind, () => createSynced(file, data));
}

async function createSynced(file: string, data: string | Uint8Array): Promise<void> {
  const handle = await fsp.open(file, 'wx');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Appends `text` to `file` (created if absent) and syncs it to disk before it returns. */
export function appendDurablySync(file: string, text: string, kind?: string): void {
  try {
    const fd = fs.openSync(file, 'a');
    try {
      fs.writeSync(fd, text);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    throw fileError(file, err, 'write', kind);
  }
}

/**
 * Renames `from` (a file or a directory) to `to`, replacing a file or empty directory there, and
 * syncs `to`'s directory so that the rename survives a crash.
 */
export async function renameDurably(from: string, to: string, kind?: string): Promise<void> {
  await orFail(to, 'write', kind, () => fsp.rename(from, to));
  await syncDirectory(path.dirname(to));
}

/**
 * Makes renames and new entries in `dir` durable (fsync of the directory). Best effort: not every
 * platform can sync a directory, and the files themselves are synced by their writers.
 */
export async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await fsp.open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Only the entries' durability is at stake.
  }
}

// ---------------------------------------------------------------------------------------------
// Directories and removal

/** Creates `dir` and its missing parents. */
export async function makeDirectory(dir: string): Promise<void> {
  await orFail(dir, 'write', 'a directory', () => fsp.mkdir(dir, { recursive: true }));
}

/** The names in `dir`. */
export async function readDirectory(dir: string): Promise<string[]> {
  return orFail(dir, 'read', 'a directory', () => fsp.readdir(dir));
}

/** The names in `dir`, or undefined if there is no such directory. */
export async function readDirectoryIfExists(dir: string): Promise<string[] | undefined> {
  return orMissing(dir, 'a directory', () => fsp.readdir(dir));
}

/** Removes a file or a directory tree; nothing if it is not there. */
export async function removeTree(target: string): Promise<void> {
  await orFail(target, 'write', undefined, () => fsp.rm(target, { recursive: true, force: true }));
}

/** removeTree that ignores failure: cleaning up after another error, which is the one to report. */
export async function removeQuietly(target: string): Promise<void> {
  await fsp.rm(target, { recursive: true, force: true }).catch(() => undefined);
}

// ---------------------------------------------------------------------------------------------
// Reading

/** The bytes of `file`. */
export async function readBytes(file: string, kind?: string): Promise<Buffer> {
  return orFail(file, 'read', kind, () => fsp.readFile(file));
}

/** The text (UTF-8) of `file`, or undefined if there is no such file. */
export async function readTextIfExists(file: string, kind?: string): Promise<string | undefined> {
  return orMissing(file, kind, () => fsp.readFile(file, 'utf8'));
}

/**
 * Size and SHA-256 (hex) of `file`, streamed: a checkpoint of the paper's networks is ~1 GB.
 * `action` is what a failure says could not be done (hashing a file just written: 'write').
 */
export async function sizeAndSha256(
  file: string,
  action: 'read' | 'write' = 'read',
): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  await orFail(file, action, undefined, async () => {
    for await (const chunk of fs.createReadStream(file)) {
      hash.update(chunk as Buffer);
      bytes += (chunk as Buffer).length;
    }
  });
  return { bytes, sha256: hash.digest('hex') };
}

/** Whether anything (a file, a directory, a dangling link) is at `file`. */
export async function exists(file: string): Promise<boolean> {
  try {
    await fsp.lstat(file);
    return true;
  } catch {
    return false;
  }
}

/** Whether `file` is a directory (or a link to one). */
export async function isDirectory(file: string): Promise<boolean> {
  try {
    return (await fsp.stat(file)).isDirectory();
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------

/** `op`'s result; its failure as a one-line UserError naming `file`. */
async function orFail<T>(
  file: string,
  action: 'read' | 'write',
  kind: string | undefined,
  op: () => Promise<T>,
): Promise<T> {
  try {
    return await op();
  } catch (err) {
    throw fileError(file, err, action, kind);
  }
}

/** orFail for a read, except that a missing `file` gives undefined. */
async function orMissing<T>(
  file: string,
  kind: string | undefined,
  op: () => Promise<T>,
): Promise<T | undefined> {
  try {
    return await op();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw fileError(file, err, 'read', kind);
  }
}
