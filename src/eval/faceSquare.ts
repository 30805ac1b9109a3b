import { squareFrom, type BoxRelation } from '../data/landmarks/clipLandmarks';
import type { CropBox } from '../data/landmarks/crop';
import type { Points } from '../data/landmarks/points';

/**
 * Where face-api's detector puts its square relative to the 68 points' bounding box, measured
 * on the two fixture portraits and face-api's six demo photos (dx -0.03..0.10, dy -0.18..-0.07,
 * scale 1.07..1.38).
 */
const DETECTOR_SQUARE: BoxRelation = { dx: 0, dy: -0.11, scale: 1.25 };

/**
 * The square a face detector would give for these points: what face-api's landmark and
 * recognition nets were trained to see. The metrics read output and real frame in the square
 * of the driver's points, so both are framed alike whatever the output looks like.
 */
export function faceSquare(points: Points): CropBox {
  return squareFrom(points, DETECTOR_SQUARE);
}
