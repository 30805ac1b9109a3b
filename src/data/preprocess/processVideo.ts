import { UserError } from '../../errors';
import { printable } from '../../oneLine';
import { encodeJpeg, type RgbImage } from '../image';
import type { FaceLandmarker } from '../landmarks/landmarker';
import { evenlySpaced } from '../sampling';
import type { StoreSettings, VideoRecord } from '../store/schema';
import { decodeFrames } from '../video/decode';
import { probeVideo } from '../video/probe';
import { buildFaceClip } from './faceClip';
import type { VideoFile } from './videoFiles';

export interface ProcessedVideo {
  record: VideoRecord;
  jpegs: Uint8Array[];
  /** Frames decoded from the source (all of them are read; only the sampled ones are kept). */
  decodedFrames: number;
}

/** Reads the sampled frames of a video, keeping only those (the decoder streams the rest past). */
export async function readSampledFrames(
  file: string,
  count: number,
): Promise<{ frames: { index: number; image: RgbImage }[]; decoded: number }> {
  const info = await probeVideo(file);
  const wanted = evenlySpaced(info.frameCount, count);
  const frames: { index: number; image: RgbImage }[] = [];
  let decoded = 0;
  let next = 0;
  for await (const frame of decodeFrames(file, { info })) {
    decoded++;
    if (frame.index === wanted[next]) {
      frames.push({ index: frame.index, image: frame });
      if (++next === wanted.length) break;
    }
  }
  if (frames.length === 0) throw new UserError(`${printable(file)}: no frames could be decoded`);
  return { frames, decoded };
}

/** One video -> the record and JPEG frames that preprocess stores. Failures are UserErrors. */
export async function processVideo(
  video: VideoFile,
  settings: StoreSettings,
  landmarker: FaceLandmarker,
  minFrames: number,
): Promise<ProcessedVideo> {
  const { frames, decoded } = await readSampledFrames(video.file, settings.framesPerVideo);
  const clip = await buildFaceClip(video.file, frames, landmarker, {
    size: settings.size,
    crop: settings.crop,
    minFrames,
  });
  const jpegs = await Promise.all(clip.frames.map((f) => encodeJpeg(f, settings.jpegQuality)));
  const points = new Float32Array(clip.points.length * clip.points[0]!.length);
  clip.points.forEach((p, i) => points.set(p, i * p.length));
  return {
    record: {
      key: video.key,
      source: video.file,
      identity: video.identity,
      videoId: video.videoId,
      frameIndices: clip.frameIndices,
      points,
      cropBox: clip.cropBox,
      skippedFrames: clip.skippedFrames,
    },
    jpegs,
    decodedFrames: decoded,
  };
}
