import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { UserError } from '../../errors';
import { replaceWithFinishedFile } from '../../fileSystem';
import { printable } from '../../oneLine';
import { resolveBinary } from './binaries';
import { lastLine } from './run';

export interface EncodeOptions {
  width: number;
  height: number;
  fps: number;
  /** x264 quality: 0 lossless, 18 visually lossless (default), 23 x264's default. */
  crf?: number;
  /** Container metadata, e.g. { comment: 'made by talking-heads' }. */
  metadata?: Record<string, string>;
  /** A file with an audio track: its first goes into the output as AAC, padded or cut to the video. */
  audioFrom?: string;
}

/**
 * Writes RGB frames to an H.264 mp4 through a raw pipe. The file appears only when close()
 * succeeds (written to a temporary name, then renamed), so a crash never leaves half a video
 * under the real name.
 */
export class VideoWriter {
  private readonly child: ChildProcess;
  private readonly exited: Promise<number | null>;
  private readonly temporary: string;
  private stderr = '';
  private frames = 0;

  constructor(
    readonly file: string,
    private readonly options: EncodeOptions,
  ) {
    const { width, height, fps } = options;
    if (width % 2 || height % 2)
      throw new UserError(
        `${printable(file)}: H.264 needs an even width and height, got ${width}x${height}`,
      );
    this.temporary = `${file}.tmp-${process.pid}.mp4`;
    const metadata = Object.entries(options.metadata ?? {}).flatMap(([k, v]) => [
      '-metadata',
      `${k}=${v}`,
    ]);
    const args = [
      '-v',
      'error',
      '-y',
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgb24',
      '-s',
      `${width}x${height}`,
      '-r',
      String(fps),
      '-i',
      'pipe:0',
      // The driver's sound, padded or cut to the video's length (apad + -shortest: the frames set
      // the length).
      ...(options.audioFrom
        ? [
            '-i',
            options.audioFrom,
            '-map',
            '0:v:0',
            '-map',
            '1:a:0',
            '-c:a',
            'aac',
            '-af',
            'apad',
            '-shortest',
          ]
        : []),
      '-c:v',
      'libx264',
      '-crf',
      String(options.crf ?? 18),
      '-pix_fmt',
      'yuv420p',
      '-movflags',
      '+faststart',
      ...metadata,
      this.temporary,
    ];
    this.child = spawn(resolveBinary('ffmpeg'), args, { stdio: ['pipe', 'ignore', 'pipe'] });
    this.child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exited = new Promise((resolve, reject) => {
      this.child.on('error', (e) =>
        reject(new UserError(`${printable(file)}: cannot run ffmpeg: ${e.message}`)),
      );
      this.child.on('close', resolve);
    });
    // A dead encoder surfaces through close(); keep a write to a closed pipe from crashing first.
    this.child.stdin!.on('error', () => undefined);
  }

  /** Appends one frame (row-major RGB, width*height*3 bytes); waits while ffmpeg catches up. */
  async write(rgb: Uint8Array): Promise<void> {
    const expected = this.options.width * this.options.height * 3;
    if (rgb.length !== expected)
      throw new Error(`frame ${this.frames} has ${rgb.length} bytes, expected ${expected}`);
    this.frames++;
    if (!this.child.stdin!.write(rgb)) {
      await new Promise<void>((resolve) => this.child.stdin!.once('drain', resolve));
    }
  }

  /** Finishes the file and moves it into place; returns the number of frames written. */
  async close(): Promise<number> {
    this.child.stdin!.end();
    const code = await this.exited;
    if (code !== 0) {
      fs.rmSync(this.temporary, { force: true });
      throw new UserError(`${printable(this.file)}: encoding failed: ${lastLine(this.stderr)}`);
    }
    await replaceWithFinishedFile(this.temporary, this.file, 'a video');
    return this.frames;
  }

  /** Stops encoding and removes the partial output. */
  async abort(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited.catch(() => undefined);
    fs.rmSync(this.temporary, { force: true });
  }
}
