import * as tf from '@tensorflow/tfjs';
import { pixelTensor } from '../data/frameTensors';
import type { FaceLandmarker } from '../data/landmarks/landmarker';
import type { Points } from '../data/landmarks/points';
import { faceDetected } from './faceDetection';
import { faceSquare } from './faceSquare';
import { personDescriptor, verified } from './faceVerification';
import { IdentitySimilarity } from './identitySimilarity';

/** Square RGB frames of one size with the 68 points each was drawn from (crop pixels). */
export interface FramesWithPoints {
  frames: Uint8Array[];
  points: Points[];
  size: number;
}

export interface AnimationIdentity {
  frames: number;
  /** Share of the frames in which face-api's detector finds a face. */
  detected: number;
  /** Share whose face-api descriptor lies within 0.6 of the shots' mean (faceVerification). */
  verified: number;
}

/**
 * Does an animation still look like a face, and like the person? The detection and verification
 * rates of `evaluate`, on generated frames: each read in the face square of the points it was
 * drawn from, against the mean descriptor of the person's shots.
 */
export async function animationIdentity(
  output: FramesWithPoints,
  shots: FramesWithPoints,
  landmarker: FaceLandmarker,
): Promise<AnimationIdentity> {
  let found = 0;
  for (const rgb of output.frames)
    found += await faceDetected(landmarker, { rgb, width: output.size, height: output.size });
  const identity = await IdentitySimilarity.load();
  try {
    const share = tf.tidy(() => {
      const shotImages = pixelTensor(shots.frames, shots.size);
      const outImages = pixelTensor(output.frames, output.size);
      const person = personDescriptor(identity, shotImages, shots.points);
      const drawn = identity.rawDescriptorsIn(outImages, output.points.map(faceSquare));
      return tf.mean(verified(drawn, person)).dataSync()[0]!;
    });
    return {
      frames: output.frames.length,
      detected: found / output.frames.length,
      verified: share,
    };
  } finally {
    identity.dispose();
  }
}
