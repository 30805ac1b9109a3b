import * as tf from '@tensorflow/tfjs';
import type { RgbImage } from '../image';
import { cropImage, type CropBox } from './crop';
import { loadFaceApi, type FaceApi } from './faceApi';
import { POINT_COUNT, type Box, type Points } from './points';

export interface FaceDetection extends Box {
  score: number;
}

export interface LandmarkerOptions {
  /** The detector's score threshold. */
  minConfidence?: number;
}

/** The landmark net's input resolution; a larger crop is reduced to this first by face-api. */
const LANDMARK_NET_INPUT = 112;

/**
 * Face detection (SSD MobileNet v1) and 68 landmarks (face-api's landmark net) on the active tfjs
 * backend, with the weights bundled in @vladmandic/face-api.
 */
export class FaceLandmarker {
  private constructor(
    private readonly faceapi: FaceApi,
    private readonly minConfidence: number,
  ) {}

  static async load(options: LandmarkerOptions = {}): Promise<FaceLandmarker> {
    return new FaceLandmarker(await loadFaceApi(), options.minConfidence ?? 0.5);
  }

  /** Every face found, largest first. */
  async detectFaces(image: RgbImage): Promise<FaceDetection[]> {
    const input = tf.tensor3d(image.rgb, [image.height, image.width, 3], 'int32');
    try {
      const options = new this.faceapi.SsdMobilenetv1Options({
        minConfidence: this.minConfidence,
      });
      const found = await this.faceapi.detectAllFaces(input, options);
      return found
        .map(({ score, box }) => ({
          score,
          left: box.x,
          top: box.y,
          width: box.width,
          height: box.height,
        }))
        .sort((a, b) => b.width * b.height - a.width * a.height);
    } finally {
      input.dispose();
    }
  }

  /**
   * The 68 points of the face inside `box` (a square region, in image pixels; it may extend past
   * the edges, which read as black). Only the landmark net runs: this is the per-frame path.
   */
  async landmarksIn(image: RgbImage, box: CropBox): Promise<Points> {
    const side = Math.min(box.size, 2 * LANDMARK_NET_INPUT);
    const crop = await cropImage(image.rgb, image.width, image.height, box, side);
    const input = tf.tensor3d(crop, [side, side, 3], 'int32');
    try {
      const { positions } = await this.faceapi.nets.faceLandmark68Net.detectLandmarks(input);
      const scale = box.size / side;
      const points = new Float32Array(POINT_COUNT * 2);
      positions.forEach(({ x, y }, i) => {
        points[2 * i] = box.left + x * scale;
        points[2 * i + 1] = box.top + y * scale;
      });
      return points;
    } finally {
      input.dispose();
    }
  }
}

/** The square the landmark net should see for a detection: its box, squared about its centre. */
export function squareAround(box: Box): CropBox {
  const size = Math.max(2, Math.round(Math.max(box.width, box.height)));
  return {
    left: Math.round(box.left + box.width / 2 - size / 2),
    top: Math.round(box.top + box.height / 2 - size / 2),
    size,
  };
}
