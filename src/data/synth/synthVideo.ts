import type { RgbImage } from '../image';
import { squareAround, type FaceDetection, type FaceLandmarker } from '../landmarks/landmarker';
import { VideoWriter } from '../video/encode';
import { synthesiseClip } from './clip';
import { shrinkForCrop } from './shrinkForCrop';

export interface SynthVideoOptions {
  frames: number;
  /** The video is size x size. */
  size: number;
  seed: number;
  fps?: number;
}

/**
 * Framed wider than the project's crop rule, so the face crop of every frame has real pixels
 * around it, as a camera's frame would: preprocess, finetune and animate find and crop the face
 * themselves.
 */
const CAMERA_FRAMING = { scale: 2.6, offsetY: -0.1 };

/**
 * A synthetic talking-head video of one face of a photo (synth's motion: head, mouth, eyes),
 * size x size H.264: a person video for `finetune`, or a driver for `animate`.
 */
export async function writeSynthVideo(
  file: string,
  image: RgbImage,
  face: FaceDetection,
  landmarker: FaceLandmarker,
  options: SynthVideoOptions,
): Promise<void> {
  const found = await landmarker.landmarksIn(image, squareAround(face));
  const shrunk = await shrinkForCrop(image, found, options.size, CAMERA_FRAMING);
  const clip = synthesiseClip(shrunk.photo, shrunk.points, {
    frames: options.frames,
    size: options.size,
    seed: options.seed,
    crop: CAMERA_FRAMING,
  });
  const writer = new VideoWriter(file, {
    width: options.size,
    height: options.size,
    fps: options.fps ?? 25,
    crf: 12,
  });
  try {
    for (const frame of clip.frames) await writer.write(frame);
  } catch (err) {
    await writer.abort();
    throw err;
  }
  await writer.close();
}
