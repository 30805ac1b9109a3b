import { mkdir, open, type FileHandle } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { checkRgbImage } from '../../data/imageLayout';
import { COLORSPACE_RGB, encodeEvent, type EventMessage, type ValueMessage } from './protobuf';
import { frameRecord } from './recordFraming';

/** What TensorBoard expects as the first event of a file (Event.file_version). */
export const FILE_VERSION = 'brain.Event:2';

export interface EventWriterOptions {
  /** Appended to the file name, e.g. '.meta' to tell runs sharing a directory apart. */
  filenameSuffix?: string;
  /** Longest time a written event stays in memory before it is appended to the file. */
  flushIntervalMs?: number;
  /** Buffered bytes past which the buffer is written out at once. */
  maxBufferBytes?: number;
}

const DEFAULT_FLUSH_INTERVAL_MS = 2000;
const DEFAULT_MAX_BUFFER_BYTES = 1 << 20;

/**
 * Appends events to one tfevents file TensorBoard can read while training runs.
 *
 * Events are framed into whole records and buffered, then appended in one write per flush, so
 * records never interleave and a crash can at worst cut off the last record in the file (which
 * readers, TensorBoard's included, treat as the end of the file).
 */
export class EventWriter {
  private buffer: Uint8Array[] = [];
  private bufferedBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  /** The chain of writes; each flush waits for the one before, so records stay in order. */
  private writing: Promise<void> = Promise.resolve();
  /** A failed background flush, rethrown by the next flush() or close(). */
  private failure: unknown;
  private readonly pendingImages = new Set<Promise<void>>();
  private closed = false;
  private closing: Promise<void> | undefined;

  private constructor(
    readonly file: string,
    private readonly handle: FileHandle,
    private readonly flushIntervalMs: number,
    private readonly maxBufferBytes: number,
  ) {}

  /**
   * Creates `logDir` (and parents) and a new file
   * `events.out.tfevents.<unix seconds>.<hostname><suffix>` in it, starting with the file_version
   * event. A name already taken (two writers started in one second) moves on to the next second,
   * so each file holds one writer's events and the names still sort by start time.
   */
  static async create(logDir: string, options: EventWriterOptions = {}): Promise<EventWriter> {
    const suffix = options.filenameSuffix ?? '';
    if (suffix.includes('/') || suffix.includes(path.sep))
      throw new Error(`filenameSuffix '${suffix}' must not contain a path separator`);
    await mkdir(logDir, { recursive: true });
    const now = Date.now() / 1000;
    let seconds = Math.floor(now);
    for (;;) {
      const file = path.join(logDir, eventFileName(seconds, os.hostname(), suffix));
      let handle: FileHandle;
      try {
        // 'ax': append, but never to a file that exists.
        handle = await open(file, 'ax');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
          seconds += 1;
          continue;
        }
        throw err;
      }
      const writer = new EventWriter(
        file,
        handle,
        options.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS,
        options.maxBufferBytes ?? DEFAULT_MAX_BUFFER_BYTES,
      );
      try {
        writer.write({ wallTime: now, step: 0, fileVersion: FILE_VERSION });
        await writer.flush();
      } catch (err) {
        await handle.close();
        throw err;
      }
      return writer;
    }
  }

  /**
   * Logs one scalar. NaN and infinities are written as they are, so a diverging loss shows up
   * in TensorBoard rather than vanishing; the value is stored as float32.
   */
  scalar(tag: string, value: number, step: number, wallTime = Date.now() / 1000): void {
    this.write({ wallTime, step, summary: { value: [{ tag, simpleValue: value }] } });
  }

  /** Logs several scalars of one step as a single event. */
  scalars(record: Record<string, number>, step: number, wallTime = Date.now() / 1000): void {
    const value = Object.entries(record).map(([tag, v]): ValueMessage => ({ tag, simpleValue: v }));
    if (value.length > 0) this.write({ wallTime, step, summary: { value } });
  }

  /** Logs an 8-bit RGB image (row-major, 3 bytes a pixel), PNG-encoded. */
  async image(
    tag: string,
    rgb: Uint8Array,
    width: number,
    height: number,
    step: number,
    wallTime = Date.now() / 1000,
  ): Promise<void> {
    this.assertOpen();
    checkRgbImage({ rgb, width, height }, `image '${tag}'`);
    checkStep(step);
    const encoding = (async () => {
      const png = await sharp(rgb, { raw: { width, height, channels: 3 } })
        .png()
        .toBuffer();
      const image = { height, width, colorspace: COLORSPACE_RGB, encodedImageString: png };
      this.write({ wallTime, step, summary: { value: [{ tag, image }] } });
    })();
    // flush() and close() wait for encodings under way, so no image is lost at the end.
    const pending = encoding.finally(() => this.pendingImages.delete(pending));
    this.pendingImages.add(pending);
    await pending;
  }

  /** Appends everything logged so far (images being encoded included) to the file. */
  async flush(): Promise<void> {
    while (this.pendingImages.size > 0) await Promise.allSettled([...this.pendingImages]);
    this.startWrite();
    await this.writing;
    this.rethrowFailure();
  }

  /** Flushes and closes the file; the writer takes no more events. Safe to call again. */
  close(): Promise<void> {
    this.closing ??= this.closeOnce();
    return this.closing;
  }

  private async closeOnce(): Promise<void> {
    try {
      await this.flush();
    } finally {
      this.closed = true;
      clearTimeout(this.timer);
      this.startWrite(); // whatever was logged while that flush ran
      await this.writing;
      await this.handle.close();
    }
    this.rethrowFailure();
  }

  private write(event: EventMessage): void {
    this.assertOpen();
    checkStep(event.step);
    const record = frameRecord(encodeEvent(event));
    this.buffer.push(record);
    this.bufferedBytes += record.length;
    if (this.bufferedBytes >= this.maxBufferBytes) this.startWrite();
    else if (this.timer === undefined) {
      this.timer = setTimeout(() => this.startWrite(), this.flushIntervalMs);
      // A pending flush must not keep the process alive; close() writes what is left.
      this.timer.unref();
    }
  }

  /** Hands the buffered records to the write chain as one contiguous write. */
  private startWrite(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.bufferedBytes === 0) return;
    const chunk = Buffer.concat(this.buffer, this.bufferedBytes);
    this.buffer = [];
    this.bufferedBytes = 0;
    this.writing = this.writing.then(async () => {
      if (this.failure !== undefined) return;
      try {
        // FileHandle.writeFile loops over partial writes until the chunk is all out.
        await this.handle.writeFile(chunk);
      } catch (err) {
        this.failure = err;
      }
    });
  }

  private rethrowFailure(): void {
    if (this.failure === undefined) return;
    const err = this.failure;
    const message = err instanceof Error ? err.message : String(err);
    throw new Error(`writing ${this.file} failed: ${message}`, { cause: err });
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`EventWriter for ${this.file} is closed`);
  }
}

/** TensorFlow's name for event files; TensorBoard finds them by the 'tfevents' in it. */
export function eventFileName(unixSeconds: number, hostname: string, suffix = ''): string {
  return `events.out.tfevents.${unixSeconds}.${hostname}${suffix}`;
}

function checkStep(step: number): void {
  if (!Number.isSafeInteger(step)) throw new RangeError(`step ${step} must be an integer`);
}
