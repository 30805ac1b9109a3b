import * as fs from 'node:fs';
import { UserError } from '../errors';
import { appendDurablySync } from '../fileSystem';
import { printable } from '../oneLine';
import type { UnitRecord } from './evaluationReport';

/** Finished units, one JSON line each, appended as they finish: what --resume goes on from. */
export const UNITS_FILE = 'units.jsonl';

/** Appends one finished unit and syncs it to disk before the run moves on. */
export function appendUnitRecord(file: string, record: UnitRecord): void {
  appendDurablySync(file, JSON.stringify(record) + '\n', 'a units file');
}

/**
 * The finished units in `file` (none if it does not exist). A last line cut short by a crash is
 * dropped, and cut from the file so that the next append starts on a fresh line; damage anywhere
 * else is an error, since a crash mid-append cannot make it.
 */
export function readUnitRecords(file: string): UnitRecord[] {
  if (!fs.existsSync(file)) return [];
  const text = fs.readFileSync(file, 'utf8');
  const lines = text.split('\n');
  // Each append ends with a newline: anything after the last one is the torn tail of an append
  // a crash cut short (even if it parses, its newline and sync never happened).
  const tail = lines.pop()!;
  const records = lines.map((line, i) => {
    try {
      return JSON.parse(line) as UnitRecord;
    } catch {
      throw new UserError(`${printable(file)}: line ${i + 1} is not a unit record`);
    }
  });
  if (tail !== '') fs.truncateSync(file, Buffer.byteLength(text) - Buffer.byteLength(tail));
  return records;
}
