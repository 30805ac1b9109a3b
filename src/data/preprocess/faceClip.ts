import { UserError } from '../../errors';
import { printable } from '../../oneLine';
import type { RgbImage } from '../image';
import { clipLandmarks } from '../landmarks/clipLandmarks';
import {
  cropBoxFromPoints,
  cropImage,
  pointsInCrop,
  type CropBox,
  type CropGeometry,
} from '../landmarks/crop';
import type { FaceLandmarker } from '../landmarks/landmarker';
import { meanPoints, type Points } from '../landmarks/points';

export interface FaceClipOptions {
  /** Side of the output frames. */
  size: number;
  crop: CropGeometry;
  /** Fewer usable frames than this fails the clip. */
  minFrames: number;
}

/** A clip's usable frames, cropped and resized, with their points in crop pixels. */
export interface FaceClip {
  frames: RgbImage[];
  points: Points[];
  /** Source frame index of each kept frame. */
  frameIndices: number[];
  cropBox: CropBox;
  skippedFrames: { index: number; reason: string }[];
}

/**
 * Frames of one clip -> landmarks -> one crop box for the whole clip (from the mean points, so the
 * head moves inside a fixed frame as in VoxCeleb2) -> cropped frames and points. The one framing
 * rule (cropBoxFromPoints) serves training data, fine-tuning shots and driving videos alike.
 */
export async function buildFaceClip(
  source: string,
  frames: readonly { index: number; image: RgbImage }[],
  landmarker: FaceLandmarker,
  options: FaceClipOptions,
): Promise<FaceClip> {
  const found = await clipLandmarks(
    frames.map((f) => f.image),
    landmarker,
  );
  const kept = frames.flatMap((frame, i) => {
    const points = found.points[i];
    return points ? [{ ...frame, points }] : [];
  });
  const skippedFrames = found.skipped.map(({ index, reason }) => ({
    index: frames[index]!.index,
    reason,
  }));
  if (kept.length === 0)
    throw new UserError(
      `${printable(source)}: no face found${frames.length > 1 ? ` in ${frames.length} sampled frames` : ''}`,
    );
  if (kept.length < options.minFrames)
    throw new UserError(
      `${printable(source)}: a face in only ${kept.length} of ${frames.length} sampled frames (at least ${options.minFrames} needed)`,
    );
  const cropBox = cropBoxFromPoints(meanPoints(kept.map((k) => k.points)), options.crop);
  const cropped = await Promise.all(
    kept.map(async ({ image }) => ({
      rgb: await cropImage(image.rgb, image.width, image.height, cropBox, options.size),
      width: options.size,
      height: options.size,
    })),
  );
  return {
    frames: cropped,
    points: kept.map((k) => pointsInCrop(k.points, cropBox, options.size)),
    frameIndices: kept.map((k) => k.index),
    cropBox,
    skippedFrames,
  };
}
