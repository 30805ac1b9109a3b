import * as fsp from 'node:fs/promises';

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
