import type { RgbImage } from '../image';
import type { CropBox } from './crop';
import { squareAround, type FaceLandmarker } from './landmarker';
import { boundingBox, type Points } from './points';

export interface ClipLandmarks {
  /** Points of each frame in source pixels; undefined where the frame was skipped. */
  points: (Points | undefined)[];
  skipped: { index: number; reason: string }[];
  /** Detector runs spent (the first detection, plus confirmations of doubtful frames). */
  detections: number;
}

export interface ClipLandmarkOptions {
  /** How many frames (spread over the clip) to try for the first detection before giving up. */
  detectionTries?: number;
}

/** Where the landmark-net square sits relative to the points' bounding box, learnt at detection. */
export interface BoxRelation {
  dx: number;
  dy: number;
  scale: number;
}

export function relationOf(square: CropBox, points: Points): BoxRelation {
  const b = boundingBox(points);
  const side = Math.max(b.width, b.height, 1);
  return {
    dx: (square.left + square.size / 2 - (b.left + b.width / 2)) / side,
    dy: (square.top + square.size / 2 - (b.top + b.height / 2)) / side,
    scale: square.size / side,
  };
}

/** The square for the next frame, placed on the previous frame's points: this is the tracking. */
export function squareFrom(points: Points, relation: BoxRelation): CropBox {
  const b = boundingBox(points);
  const side = Math.max(b.width, b.height, 1);
  const size = Math.max(2, Math.round(relation.scale * side));
  const cx = b.left + b.width / 2 + relation.dx * side;
  const cy = b.top + b.height / 2 + relation.dy * side;
  return { left: Math.round(cx - size / 2), top: Math.round(cy - size / 2), size };
}

/**
 * Whether `points` are a believable successor of `previous`: the landmark net always answers, even
 * on a black frame, but its answer on a non-face jumps in size or place. Talking-head motion
 * between sampled frames stays well inside these bounds.
 */
export function plausibleSuccessor(points: Points, previous: Points): boolean {
  const a = boundingBox(previous);
  const b = boundingBox(points);
  const sizeA = Math.hypot(a.width, a.height);
  const sizeB = Math.hypot(b.width, b.height);
  const ratio = sizeB / sizeA;
  const shift = Math.hypot(
    b.left + b.width / 2 - (a.left + a.width / 2),
    b.top + b.height / 2 - (a.top + a.height / 2),
  );
  return ratio > 0.8 && ratio < 1.25 && shift < 0.25 * sizeA;
}

/** Frames to try for the first detection: evenly spread, the first frame first. */
function detectionOrder(frameCount: number, tries: number): number[] {
  const n = Math.min(tries, frameCount);
  return Array.from({ length: n }, (_, i) => Math.floor((i * frameCount) / n));
}

/**
 * Landmarks for a face-centred clip: the detector runs once (on the first frame where it finds a
 * face; the largest face when there are several), then only the landmark net, tracking the face
 * from frame to frame. A frame whose landmarks jump implausibly is checked with the detector: no
 * face there means the frame is skipped; a face means tracking restarts on it.
 */
export async function clipLandmarks(
  frames: readonly RgbImage[],
  landmarker: FaceLandmarker,
  options: ClipLandmarkOptions = {},
): Promise<ClipLandmarks> {
  const points: (Points | undefined)[] = new Array(frames.length).fill(undefined);
  const skipped: { index: number; reason: string }[] = [];
  let detections = 0;

  const detectAt = async (index: number): Promise<CropBox | undefined> => {
    detections++;
    const [largest] = await landmarker.detectFaces(frames[index]!);
    return largest && squareAround(largest);
  };

  let anchor = -1;
  let anchorSquare: CropBox | undefined;
  for (const index of detectionOrder(frames.length, options.detectionTries ?? 4)) {
    anchorSquare = await detectAt(index);
    if (anchorSquare) {
      anchor = index;
      break;
    }
  }
  if (!anchorSquare) {
    return {
      points,
      skipped: frames.map((_, index) => ({ index, reason: 'no face' })),
      detections,
    };
  }
  const anchorPoints = await landmarker.landmarksIn(frames[anchor]!, anchorSquare);
  points[anchor] = anchorPoints;
  const relation = relationOf(anchorSquare, anchorPoints);

  // Track forwards from the anchor, then backwards from it.
  for (const step of [1, -1]) {
    let previous = anchorPoints;
    for (let index = anchor + step; index >= 0 && index < frames.length; index += step) {
      let found = await landmarker.landmarksIn(frames[index]!, squareFrom(previous, relation));
      if (!plausibleSuccessor(found, previous)) {
        const square = await detectAt(index);
        if (!square) {
          skipped.push({ index, reason: 'no face' });
          continue;
        }
        found = await landmarker.landmarksIn(frames[index]!, square);
      }
      points[index] = found;
      previous = found;
    }
  }
  skipped.sort((a, b) => a.index - b.index);
  return { points, skipped, detections };
}
