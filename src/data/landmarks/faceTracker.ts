import type { RgbImage } from '../image';
import { plausibleSuccessor, relationOf, squareFrom, type BoxRelation } from './clipLandmarks';
import { squareAround, type FaceLandmarker } from './landmarker';
import type { Points } from './points';

/**
 * Landmarks frame after frame of a video, for streaming (a driving video of any length): the
 * detector runs until it finds a face, then only the landmark net, tracking the face from the
 * previous frame's points. A frame whose points jump implausibly is checked with the detector:
 * no face means the frame has none (undefined), a face restarts tracking on it. The same rules
 * as clipLandmarks, forwards only.
 */
export class FaceTracker {
  private previous: Points | undefined;
  private relation: BoxRelation | undefined;
  /** Detector runs so far. */
  detections = 0;

  constructor(private readonly landmarker: FaceLandmarker) {}

  async next(frame: RgbImage): Promise<Points | undefined> {
    if (this.previous && this.relation) {
      const found = await this.landmarker.landmarksIn(
        frame,
        squareFrom(this.previous, this.relation),
      );
      if (plausibleSuccessor(found, this.previous)) return (this.previous = found);
    }
    this.detections++;
    const [largest] = await this.landmarker.detectFaces(frame);
    if (!largest) return undefined;
    const square = squareAround(largest);
    const found = await this.landmarker.landmarksIn(frame, square);
    this.relation = relationOf(square, found);
    return (this.previous = found);
  }
}
