import { MIRROR } from './parts';
import { assertPoints, POINT_COUNT, type Points } from './points';

/**
 * The points of the horizontally flipped image (width `width`): x -> width - x, and point i takes
 * the flipped position of MIRROR[i], so the "right eye" is again the eye on the image's left and
 * each part keeps its anatomical colour in the landmark image.
 */
export function flipPoints(points: Points, width: number): Points {
  assertPoints(points);
  const out = new Float32Array(points.length);
  for (let i = 0; i < POINT_COUNT; i++) {
    const j = MIRROR[i]!;
    out[2 * i] = width - points[2 * j]!;
    out[2 * i + 1] = points[2 * j + 1]!;
  }
  return out;
}
