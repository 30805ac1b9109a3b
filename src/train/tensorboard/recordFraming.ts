import * as CRC32C from 'crc-32/crc32c';

/**
 * TFRecord framing, the container format of TensorBoard event files:
 *
 *   uint64 length (LE) | uint32 masked_crc32c(length bytes) | data | uint32 masked_crc32c(data)
 *
 * Both CRCs are CRC32C (Castagnoli), "masked" so that a CRC stored inside data that is itself
 * CRC'd does not produce degenerate checksums (tensorflow/core/lib/hash/crc32c.h).
 */

const HEADER_BYTES = 12;
const FOOTER_BYTES = 4;
const MASK_DELTA = 0xa282ead8;

/** CRC32C of `data` as an unsigned 32-bit number. */
export function crc32c(data: Uint8Array): number {
  return CRC32C.buf(data) >>> 0;
}

/** The masked CRC32C TFRecord stores: rotate right by 15 bits, then add a constant, mod 2^32. */
export function maskedCrc32c(data: Uint8Array): number {
  const crc = crc32c(data);
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + MASK_DELTA) >>> 0;
}

/** One record: its length, the length's CRC, the payload, the payload's CRC. */
export function frameRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + data.length + FOOTER_BYTES);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, HEADER_BYTES);
  view.setUint32(HEADER_BYTES + data.length, maskedCrc32c(data), true);
  return out;
}

/** A record that fails its checks; `offset` is the byte offset of the record's start. */
export class RecordError extends Error {
  override readonly name: string = 'RecordError';
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

/** A record whose bytes or CRCs do not match: the file is damaged, not merely cut short. */
export class CorruptRecordError extends RecordError {
  override readonly name: string = 'CorruptRecordError';
}

/**
 * The file ends inside its last record, as a crash or a kill mid-write leaves it (or a reader
 * racing the writer). Every record before it is intact.
 */
export class TruncatedRecordError extends RecordError {
  override readonly name: string = 'TruncatedRecordError';
}

export interface ReadRecordsOptions {
  /** Drop a cut-off last record instead of throwing TruncatedRecordError. */
  allowTruncatedTail?: boolean;
}

/** The payloads of all records in `bytes`, each checked against both of its CRCs. */
export function readRecords(bytes: Uint8Array, options: ReadRecordsOptions = {}): Uint8Array[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const records: Uint8Array[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const left = bytes.length - offset;
    const truncated = (what: string): Uint8Array[] => {
      if (options.allowTruncatedTail) return records;
      throw new TruncatedRecordError(
        `truncated record at byte offset ${offset}: ${what} (the file ends ${left} bytes ` +
          'into its last record, as an interrupted write leaves it)',
        offset,
      );
    };
    if (left < HEADER_BYTES) return truncated(`only ${left} of the ${HEADER_BYTES} header bytes`);

    const lengthCrc = view.getUint32(offset + 8, true);
    if (lengthCrc !== maskedCrc32c(bytes.subarray(offset, offset + 8)))
      throw new CorruptRecordError(
        `corrupt record at byte offset ${offset}: length field fails its CRC32C check`,
        offset,
      );
    // Checked against the CRC, so a huge value means a cut-off file, not garbage.
    const length = view.getBigUint64(offset, true);
    const needed = BigInt(HEADER_BYTES + FOOTER_BYTES) + length;
    if (needed > BigInt(left))
      return truncated(`record of ${length} data bytes needs ${needed} bytes, ${left} remain`);

    const start = offset + HEADER_BYTES;
    const end = start + Number(length);
    const data = bytes.subarray(start, end);
    if (view.getUint32(end, true) !== maskedCrc32c(data))
      throw new CorruptRecordError(
        `corrupt record at byte offset ${offset}: ${length} data bytes fail their CRC32C check`,
        offset,
      );
    records.push(data);
    offset = end + FOOTER_BYTES;
  }
  return records;
}
