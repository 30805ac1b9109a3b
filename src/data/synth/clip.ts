import type { RgbImage } from '../image';
import {
  cropBoxFromPoints,
  DEFAULT_CROP,
  pointsInCrop,
  type CropBox,
  type CropGeometry,
} from '../landmarks/crop';
import { POINT_COUNT, type Points } from '../landmarks/points';
import { Random } from '../random';
import { FaceRig } from './faceWarp';
import { sampleMotion, type FrameMotion, type MotionRanges } from './motion';
import { resampleCrop } from './resample';

/** What synthesiseClip makes: how many frames, how big, which motion. */
export interface SynthClipOptions {
  frames: number;
  /** Output frames are size x size. */
  size: number;
  seed: number;
  /** Framing; the project's DEFAULT_CROP if absent. */
  crop?: CropGeometry;
  /** Overrides of the motion's ranges and rates. */
  motion?: Partial<MotionRanges>;
}

export interface SynthClip {
  /** size x size RGB, row-major. */
  frames: Uint8Array[];
  /** Each frame's 68 landmarks, in its crop's pixels. */
  points: Points[];
  /** The one crop of the clip, in photo pixels: the head moves inside it, as in a video. */
  cropBox: CropBox;
  motion: FrameMotion[];
}

/**
 * A synthetic talking-head clip from one portrait: smooth random head motion (rotation, scale,
 * shift about the face centre), speech-like mouth opening and blinks, each frame warped from the
 * photo and cropped with the project's crop rule, around a crop box fixed from the photo's
 * points. Each frame's landmarks are the photo's moved by the exact inverse of the map that
 * pulled the pixels, so they are exact (see faceWarp.ts).
 *
 * Frame 0 is the photo itself, cropped (motion starts neutral); its points are the photo's,
 * except that inner lips which touch in the photo are first set slightly apart (FaceRig.points).
 * Deterministic for a given seed.
 */
export function synthesiseClip(
  photo: RgbImage,
  points: Points,
  options: SynthClipOptions,
): SynthClip {
  const { frames: count, size } = options;
  if (!Number.isInteger(count) || count < 1) throw new Error(`frames must be >= 1, got ${count}`);
  if (!Number.isInteger(size) || size < 1) throw new Error(`size must be >= 1, got ${size}`);
  if (points.length !== POINT_COUNT * 2) throw new Error(`expected 68 points`);
  const cropBox = cropBoxFromPoints(points, options.crop ?? DEFAULT_CROP);
  const motion = sampleMotion(count, new Random(options.seed), options.motion);
  const rig = new FaceRig(points);
  const frames: Uint8Array[] = [];
  const framePoints: Points[] = [];
  for (const m of motion) {
    const warp = rig.warp(m);
    frames.push(resampleCrop(photo, cropBox, size, warp));
    framePoints.push(pointsInCrop(warp.forwardPoints(rig.points), cropBox, size));
  }
  return { frames, points: framePoints, cropBox, motion };
}
