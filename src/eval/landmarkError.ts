import type { RgbImage } from '../data/image';
import type { CropBox } from '../data/landmarks/crop';
import type { FaceLandmarker } from '../data/landmarks/landmarker';
import { POINT_COUNT, type Points } from '../data/landmarks/points';
import { faceSquare } from './faceSquare';

/** The outer eye corners of the 68-point scheme: the usual inter-ocular normaliser (300-W). */
const OUTER_EYE_CORNERS = [36, 45] as const;

export function interOcularDistance(points: Points): number {
  const [a, b] = OUTER_EYE_CORNERS;
  return Math.hypot(points[2 * b]! - points[2 * a]!, points[2 * b + 1]! - points[2 * a + 1]!);
}

/** Mean point-to-point distance of `found` from `reference`, over reference's inter-ocular distance. */
export function normalisedMeanError(found: Points, reference: Points): number {
  let sum = 0;
  for (let i = 0; i < POINT_COUNT; i++)
    sum += Math.hypot(found[2 * i]! - reference[2 * i]!, found[2 * i + 1]! - reference[2 * i + 1]!);
  return sum / POINT_COUNT / Math.max(interOcularDistance(reference), 1e-6);
}

/** The driver's side of a landmark-error measurement: the square and what the net read in it. */
export interface LandmarkReference {
  square: CropBox;
  points: Points;
}

/**
 * Landmark error of a generated frame (how well it follows the driver's pose and expression):
 * the landmark net reads the output and the driving frame in the same square, placed from the
 * driver's known points, and the NME of the output's points against the driver's is returned.
 * Both sides go through the same detector at the same resolution, so identical images score 0
 * and the detector's own bias cancels.
 */
export class LandmarkError {
  constructor(private readonly landmarker: FaceLandmarker) {}

  /** Read once per driving frame; every method's output is then measured against it. */
  async reference(driver: RgbImage, driverPoints: Points): Promise<LandmarkReference> {
    const square = faceSquare(driverPoints);
    return { square, points: await this.landmarker.landmarksIn(driver, square) };
  }

  async measure(output: RgbImage, reference: LandmarkReference): Promise<number> {
    const found = await this.landmarker.landmarksIn(output, reference.square);
    return normalisedMeanError(found, reference.points);
  }
}
