import { spawn } from 'node:child_process';
import { UserError } from '../../errors';
import { printable } from '../../oneLine';
import { resolveBinary } from './binaries';
import { probeVideo, type VideoInfo } from './probe';
import { lastLine } from './run';

export interface DecodedFrame {
  /** 0-based position in the decoded sequence. */
  index: number;
  width: number;
  height: number;
  /** Row-major RGB, 3 bytes per pixel. */
  rgb: Uint8Array;
}

export interface DecodeOptions {
  /** Resize every frame to this size (ffmpeg's bicubic scaler). */
  size?: { width: number; height: number };
  /** Resample to this frame rate. */
  fps?: number;
  /** The file's probeVideo result, if the caller has it already (saves a second probe). */
  info?: VideoInfo;
}

/**
 * Streams a video's frames as RGB through a raw pipe, one at a time: memory stays bounded
 * whatever the video's length, because ffmpeg waits while the consumer works. Stopping early
 * kills ffmpeg. A failure (corrupt or truncated data) is a UserError naming the file.
 */
export async function* decodeFrames(
  file: string,
  options: DecodeOptions = {},
): AsyncGenerator<DecodedFrame> {
  const info = options.info ?? (await probeVideo(file));
  const width = options.size?.width ?? info.width;
  const height = options.size?.height ?? info.height;
  const filters = [
    ...(options.fps ? [`fps=${options.fps}`] : []),
    ...(options.size ? [`scale=${width}:${height}:flags=bicubic`] : []),
  ];
  const args = [
    '-v',
    'error',
    '-xerror', // stop at the first damaged packet instead of decoding around it
    '-nostdin',
    '-i',
    file,
    ...(filters.length ? ['-vf', filters.join(',')] : []),
    '-f',
    'rawvideo',
    '-pix_fmt',
    'rgb24',
    'pipe:1',
  ];
  const child = spawn(resolveBinary('ffmpeg'), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', (e) =>
      reject(new UserError(`${printable(file)}: cannot run ffmpeg: ${e.message}`)),
    );
    child.on('close', resolve);
  });

  const frameBytes = width * height * 3;
  // Pipe chunks (64 KiB) are copied straight into the frame being filled: concatenating them
  // made several frame-sized buffers of garbage per frame, which a loaded machine's GC let pile up.
  let frame = new Uint8Array(frameBytes);
  let filled = 0;
  let index = 0;
  let finished = false;
  try {
    for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
      let offset = 0;
      while (offset < chunk.length) {
        const n = Math.min(frameBytes - filled, chunk.length - offset);
        frame.set(chunk.subarray(offset, offset + n), filled);
        filled += n;
        offset += n;
        if (filled === frameBytes) {
          const rgb = frame;
          frame = new Uint8Array(frameBytes);
          filled = 0;
          yield { index: index++, width, height, rgb };
        }
      }
    }
    const code = await exited;
    finished = true;
    if (code !== 0) throw new UserError(`${printable(file)}: ${lastLine(stderr)}`);
    if (filled > 0) throw new UserError(`${printable(file)}: the last frame is incomplete`);
  } finally {
    if (!finished) {
      child.kill('SIGKILL');
      await exited.catch(() => undefined);
    }
  }
}
