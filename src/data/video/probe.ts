import * as fs from 'node:fs';
import { UserError } from '../../errors';
import { printable } from '../../oneLine';
import { resolveBinary } from './binaries';
import { lastLine, runTool } from './run';

export interface VideoInfo {
  width: number;
  height: number;
  /** Frames per second of the video stream (its average frame rate). */
  fps: number;
  /** Counted frames of the video stream. */
  frameCount: number;
  durationSeconds: number;
  hasAudio: boolean;
}

function parseRate(rate: string | undefined): number {
  const [num, den] = (rate ?? '0/1').split('/').map(Number);
  return den ? num! / den : num!;
}

interface ProbeStream {
  codec_type?: string;
  width?: number;
  height?: number;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  nb_read_frames?: string;
  nb_frames?: string;
}

/** Size, frame rate and frame count of a video; missing, corrupt and video-less files are UserErrors. */
export async function probeVideo(file: string): Promise<VideoInfo> {
  if (!fs.existsSync(file)) throw new UserError(`${printable(file)}: no such file`);
  const ffprobe = resolveBinary('ffprobe');
  // -count_frames reads the stream: exact counts even when the container's header lies.
  const args = [
    '-v',
    'error',
    '-count_frames',
    '-print_format',
    'json',
    '-show_streams',
    '-show_format',
    file,
  ];
  const { stdout, stderr } = await runTool(ffprobe, args, file);
  // At -v error, anything on stderr is damage found while reading (a truncated file, bad packets).
  if (stderr.trim())
    throw new UserError(`${printable(file)}: corrupt or truncated: ${lastLine(stderr)}`);
  const probed = JSON.parse(stdout.toString()) as {
    streams?: ProbeStream[];
    format?: { duration?: string };
  };
  const streams = probed.streams ?? [];
  const video = streams.find((s) => s.codec_type === 'video');
  if (!video) throw new UserError(`${printable(file)}: no video stream`);
  const fps = parseRate(video.avg_frame_rate) || parseRate(video.r_frame_rate);
  const frameCount = Number(video.nb_read_frames ?? video.nb_frames ?? 0);
  if (!video.width || !video.height || !(fps > 0) || frameCount === 0) {
    throw new UserError(`${printable(file)}: the video stream has no readable frames`);
  }
  return {
    width: video.width,
    height: video.height,
    fps,
    frameCount,
    durationSeconds: Number(probed.format?.duration ?? frameCount / fps),
    hasAudio: streams.some((s) => s.codec_type === 'audio'),
  };
}
