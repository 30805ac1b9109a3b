import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { fileError } from './oneLine';
import { syncDirectory } from './syncDirectory';

/**
 * Writes `file` atomically: to a temporary file in the same directory, synced to disk, then
 * renamed over `file`, so a crash leaves either the old file or the new one, never half of one.
 * I/O failures are UserErrors naming `file` (`kind` says what it is); the temporary file is
 * removed.
 */
export async function writeFileAtomically(
  file: string,
  data: string | Uint8Array,
  kind?: string,
): Promise<void> {
  const temporary = `${file}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  try {
    const handle = await fsp.open(temporary, 'wx');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fsp.rename(temporary, file);
  } catch (err) {
    await fsp.rm(temporary, { force: true }).catch(() => undefined);
    throw fileError(file, err, 'write', kind);
  }
  await syncDirectory(path.dirname(file));
}
