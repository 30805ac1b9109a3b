/**
 * A checkpoint's manifest.json: its format, step, creation time, the RNG state, the run's
 * config and how its frames were made, and the size and SHA-256 of each of its files as they
 * were on disk when written. The schema below is the manifest's one definition: the type is
 * derived from it and so is the check of a manifest read back, whose every problem is a one-line
 * UserError naming the file.
 */
import * as path from 'node:path';
import { z } from 'zod';
import { UserError } from '../errors';
import { readTextIfExists, sizeAndSha256, writeNewFile } from '../fileSystem';
import { printable } from '../oneLine';

export const CHECKPOINT_FORMAT = 1;
export const MANIFEST_FILE = 'manifest.json';

/** Every problem with a file's record reads "'files.<name>' is not {bytes, sha256}". */
const notFileRecord = { error: 'is not {bytes, sha256}' };

const fileRecordSchema = z.object(
  { bytes: z.number(notFileRecord).int(notFileRecord), sha256: z.string(notFileRecord) },
  notFileRecord,
);

export type FileRecord = z.output<typeof fileRecordSchema>;

/** The format a manifest names, checked before anything else in it. */
const formatSchema = z.literal(CHECKPOINT_FORMAT, {
  error: (issue) =>
    `checkpoint format ${printable(JSON.stringify(issue.input) ?? 'missing')}, ` +
    `this version reads format ${CHECKPOINT_FORMAT}`,
});

/** A manifest this version reads at all; its problems are whole messages. */
const versionSchema = z.object({ format: formatSchema }, { error: 'not a checkpoint manifest' });

const nonNegativeInteger = { error: 'is not a non-negative integer' };
const string = { error: 'is not a string' };
/** Absent or null: null. */
const anyJson = z
  .unknown()
  .optional()
  .transform((value) => value ?? null);

/**
 * The manifest. A problem with a field reads "'<field>' <why>"; other fields (written by a later
 * version) are ignored.
 */
export const manifestSchema = z.object({
  format: formatSchema,
  step: z.number(nonNegativeInteger).int(nonNegativeInteger).min(0, nonNegativeInteger),
  createdAt: z.string(string),
  /** The random generators' states: any JSON value. */
  rng: anyJson,
  /** The resolved run configuration (YAML text). */
  config: z.string(string),
  /** How the training frames were made: any JSON value, null if the saver gave none. */
  data: anyJson,
  /** By file name in the checkpoint directory. */
  files: z.record(z.string(), fileRecordSchema, { error: 'is not an object' }),
});

/** A manifest as read back (rng and data null when absent). */
export type CheckpointManifest = z.output<typeof manifestSchema>;
/** A manifest as written: data may be left out. */
export type NewCheckpointManifest = z.input<typeof manifestSchema>;

/** Checks a parsed manifest.json (`file`, named in each error) against the schema. */
export function parseManifest(value: unknown, file: string): CheckpointManifest {
  const where = printable(file);
  const version = versionSchema.safeParse(value);
  if (!version.success) throw new UserError(`${where}: ${version.error.issues[0]!.message}`);
  const manifest = manifestSchema.safeParse(value);
  if (manifest.success) return manifest.data;
  const issue = manifest.error.issues[0]!;
  // Reported at the manifest's field, or at the file's record (files.<name>) as a whole.
  const field = printable(issue.path.slice(0, 2).map(String).join('.'));
  throw new UserError(`${where}: '${field}' ${issue.message}`);
}

/** Reads and checks `dir`/manifest.json. */
export async function readManifest(dir: string): Promise<CheckpointManifest> {
  const file = path.join(dir, MANIFEST_FILE);
  const where = printable(file);
  const text = await readTextIfExists(file, 'a checkpoint manifest');
  if (text === undefined)
    throw new UserError(`${where}: no such file: not a checkpoint, or an incomplete one`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new UserError(`${where}: not valid JSON (${printable((err as Error).message)})`);
  }
  return parseManifest(value, file);
}

/** Creates `file` (which must not exist) holding `manifest`, synced to disk. */
export async function writeManifest(file: string, manifest: NewCheckpointManifest): Promise<void> {
  await writeNewFile(file, `${JSON.stringify(manifest, null, 2)}\n`);
}

/** The record of `name` in the manifest of `dir`; a UserError if it lists none. */
export function listedFile(manifest: CheckpointManifest, dir: string, name: string): FileRecord {
  const record = manifest.files[name];
  if (record == null)
    throw new UserError(`${printable(path.join(dir, MANIFEST_FILE))}: lists no ${name}`);
  return record;
}

/** The file must have the size and SHA-256 the manifest recorded when it was written. */
export async function verifyFile(file: string, record: FileRecord): Promise<void> {
  const actual = await sizeAndSha256(file);
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
