import * as path from 'node:path';
import type { FaceDetection } from '../landmarks/landmarker';

/** Faces smaller than this (detector box side, px) make blurry identities; synth leaves them out. */
export const DEFAULT_MIN_FACE_SIZE = 80;

/** The detected faces synth turns into identities, in detection order. */
export function synthFaces(
  detected: readonly FaceDetection[],
  minFaceSize: number,
): FaceDetection[] {
  return detected.filter((face) => Math.max(face.width, face.height) >= minFaceSize);
}

/** The identity synth names after the f-th face (of synthFaces) of a photo. */
export function synthIdentity(photo: string, face: number): string {
  return `${path.basename(photo, path.extname(photo))}-face${face}`;
}
