import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../../errors';
import { printable } from '../../oneLine';
import { decodeFrames } from './decode';
import { VideoWriter } from './encode';
import { probeVideo, type VideoInfo } from './probe';

export interface CutOptions {
  /** Frames per clip; the last clip takes what is left (at least `minFrames` of it). */
  framesPerClip: number;
  /** A tail shorter than this joins the clip before it rather than becoming a clip of its own. */
  minFrames?: number;
  /** Only the first this many clips (a shorter corpus for quick runs). */
  maxClips?: number;
  /** x264 quality of the clips (re-encoded: cuts fall on any frame, not only on key frames). */
  crf?: number;
  /** The source's probeVideo result, if the caller has it already. */
  info?: VideoInfo;
  /** Stops after the frame in hand; the clip being written is dropped, finished clips stay. */
  signal?: AbortSignal;
}

export interface Clip {
  file: string;
  /** The source's frames [first, end) that the clip holds, in order. */
  first: number;
  end: number;
}

/** `clip-000.mp4`, `clip-001.mp4`, ...: names that sort in the order of the source. */
export function clipName(i: number): string {
  return `clip-${String(i).padStart(3, '0')}.mp4`;
}

/** Where each clip of a video of `frameCount` frames starts and ends. */
export function clipRanges(
  frameCount: number,
  options: Pick<CutOptions, 'framesPerClip' | 'minFrames' | 'maxClips'>,
): { first: number; end: number }[] {
  const { framesPerClip } = options;
  const minFrames = options.minFrames ?? 1;
  const ranges: { first: number; end: number }[] = [];
  for (let first = 0; first < frameCount; first += framesPerClip) {
    ranges.push({ first, end: Math.min(first + framesPerClip, frameCount) });
  }
  const last = ranges[ranges.length - 1];
  if (ranges.length > 1 && last && last.end - last.first < minFrames) {
    ranges.pop();
    ranges[ranges.length - 1]!.end = frameCount;
  }
  return options.maxClips === undefined ? ranges : ranges.slice(0, options.maxClips);
}

/**
 * Cuts a long video into consecutive clips of `framesPerClip` frames in `outDir`, as VoxCeleb2
 * cuts a YouTube video into utterances: every frame goes to exactly one clip, in order. One pass
 * decodes the source; each clip is written under a temporary name and renamed when complete, so
 * a clip that exists is whole, and a rerun skips it.
 */
export async function cutClips(file: string, outDir: string, options: CutOptions): Promise<Clip[]> {
  const info = options.info ?? (await probeVideo(file));
  const ranges = clipRanges(info.frameCount, options);
  fs.mkdirSync(outDir, { recursive: true });
  const clips = ranges.map((r, i) => ({ file: path.join(outDir, clipName(i)), ...r }));
  const todo = clips.filter((c) => !fs.existsSync(c.file));
  if (todo.length === 0) return clips;
  const stopAt = clips[clips.length - 1]!.end;
  let current = 0;
  let decoded = 0;
  let writer: VideoWriter | undefined;
  const finish = async (clip: Clip) => {
    const written = await writer!.close();
    writer = undefined;
    if (written !== clip.end - clip.first)
      throw new UserError(
        `${printable(file)}: ended after frame ${clip.first + written} of the ${info.frameCount} it counts`,
      );
  };
  try {
    for await (const frame of decodeFrames(file, { info })) {
      if (frame.index >= stopAt || options.signal?.aborted) break;
      decoded = frame.index + 1;
      while (frame.index >= clips[current]!.end) {
        if (writer) await finish(clips[current]!);
        current++;
      }
      const clip = clips[current]!;
      if (frame.index === clip.first && !fs.existsSync(clip.file)) {
        writer = new VideoWriter(clip.file, {
          width: frame.width,
          height: frame.height,
          fps: info.fps,
          crf: options.crf ?? 15,
        });
      }
      await writer?.write(frame.rgb);
    }
    if (options.signal?.aborted) return clips.filter((c) => fs.existsSync(c.file));
    if (writer) await finish(clips[current]!);
    if (decoded < stopAt)
      throw new UserError(
        `${printable(file)}: ended after frame ${decoded} of the ${info.frameCount} it counts`,
      );
  } finally {
    // A clip cut short (failure, or fewer frames than probed) is never left under its name.
    if (writer) await writer.abort();
  }
  return clips;
}
