import { readFile } from 'node:fs/promises';
import { decodeEvent } from './protobuf';
import { RecordError, readRecords, type ReadRecordsOptions } from './recordFraming';

export interface FileVersionEvent {
  kind: 'fileVersion';
  fileVersion: string;
  step: number;
  wallTime: number;
}

export interface ScalarEvent {
  kind: 'scalar';
  tag: string;
  /** As stored: float32 precision, NaN and infinities kept. */
  value: number;
  step: number;
  wallTime: number;
}

export interface ImageEvent {
  kind: 'image';
  tag: string;
  width: number;
  height: number;
  /** The encoded image as stored (PNG for files this project writes). */
  png: Uint8Array;
  step: number;
  wallTime: number;
}

export type DecodedEvent = FileVersionEvent | ScalarEvent | ImageEvent;

/**
 * The events of a tfevents file, in file order, every record checked against its CRCs. An event
 * holding several summary values gives one entry per value; events of kinds this project does
 * not write (graphs, session logs, tensor summaries) are left out.
 *
 * A file cut off inside its last record throws TruncatedRecordError unless
 * `allowTruncatedTail`, which a reader of a file still being written wants.
 */
export async function readEventFile(
  file: string,
  options: ReadRecordsOptions = {},
): Promise<DecodedEvent[]> {
  const bytes = new Uint8Array(await readFile(file));
  let records: Uint8Array[];
  try {
    records = readRecords(bytes, options);
  } catch (err) {
    // Same error class and offset, with the file named.
    if (err instanceof RecordError) {
      const named = new (err.constructor as typeof RecordError)(
        `${file}: ${err.message}`,
        err.offset,
      );
      throw named;
    }
    throw err;
  }
  const events: DecodedEvent[] = [];
  records.forEach((record, index) => {
    let event;
    try {
      event = decodeEvent(record);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw new Error(`${file}: record ${index} is not an Event: ${message}`, { cause: err });
    }
    const { step, wallTime } = event;
    if (event.fileVersion !== undefined)
      events.push({ kind: 'fileVersion', fileVersion: event.fileVersion, step, wallTime });
    for (const value of event.summary?.value ?? []) {
      if (value.simpleValue !== undefined)
        events.push({ kind: 'scalar', tag: value.tag, value: value.simpleValue, step, wallTime });
      else if (value.image !== undefined) {
        const { width, height, encodedImageString: png } = value.image;
        events.push({ kind: 'image', tag: value.tag, width, height, png, step, wallTime });
      }
    }
  });
  return events;
}
