import * as tf from '@tensorflow/tfjs';
import type { RgbImage } from '../data/image';
import { pixelTensor } from '../data/frameTensors';
import type { FaceLandmarker } from '../data/landmarks/landmarker';
import type { Points } from '../data/landmarks/points';
import { FaceDetections } from './faceDetection';
import { personDescriptor, verified } from './faceVerification';
import { cosine, type IdentitySimilarity, unitLength } from './identitySimilarity';
import type { LandmarkError, LandmarkReference } from './landmarkError';
import { perImageMeanAbsoluteError, psnr } from './pixelErrors';
import { ssim } from './ssim';

export interface MetricInfo {
  name: MetricName;
  label: string;
  better: 'higher' | 'lower';
  description: string;
}

/** The per-frame metrics, in report order. FID is a set statistic and is kept apart. */
export const METRICS: readonly MetricInfo[] = [
  {
    name: 'l1',
    label: 'L1',
    better: 'lower',
    description: 'mean absolute pixel error, pixels in [0, 1]',
  },
  { name: 'psnr', label: 'PSNR', better: 'higher', description: 'dB, range 1, capped at 100' },
  {
    name: 'ssim',
    label: 'SSIM',
    better: 'higher',
    description:
      'Wang et al. 2004: 11x11 Gaussian window (sigma 1.5), K1 0.01, K2 0.03, RGB channels averaged',
  },
  {
    name: 'csim',
    label: 'CSIM',
    better: 'higher',
    description:
      "cosine similarity of face-api's recognition-net descriptors of output and real frame",
  },
  {
    name: 'verified',
    label: 'verified',
    better: 'higher',
    description:
      "share of frames face-api takes for the person: the output's raw descriptor within 0.6 " +
      "(Euclidean, face-api's same-person distance) of the mean descriptor of the K shots",
  },
  {
    name: 'nme',
    label: 'landmark NME',
    better: 'lower',
    description:
      "mean error of the output's landmarks against the driver's (same net, same square), over the inter-ocular distance",
  },
  {
    name: 'detected',
    label: 'detected',
    better: 'higher',
    description:
      "share of frames in which face-api's face detector (SSD, score 0.5) finds a face; the " +
      'frame is scaled to a third of its 512 px input, on grey, as it misses faces that fill the image',
  },
];

export type MetricName = 'l1' | 'psnr' | 'ssim' | 'csim' | 'verified' | 'nme' | 'detected';
export type FrameScores = Record<MetricName, number[]>;

export interface FrameScorer {
  identity: IdentitySimilarity;
  landmarks: LandmarkError;
  /** The landmark error's landmarker, for its face detector. */
  faces: FaceLandmarker;
}

/** The K shots a unit's person is built from, at the frames' size, with their landmarks. */
export interface Shots {
  frames: readonly Uint8Array[];
  points: readonly Points[];
}

/**
 * Every per-frame metric of each method's outputs against the real frames (8-bit RGB, size x
 * size), one value per frame. `references` are the driving frames' landmark readings
 * (LandmarkError.reference); `shots` are whom verification checks the outputs against. The real
 * frames' tensor and face descriptors, and the shots' mean descriptor, are made once for all
 * methods.
 */
export async function scoreMethods(
  real: readonly Uint8Array[],
  outputs: Readonly<Record<string, readonly Uint8Array[]>>,
  references: readonly LandmarkReference[],
  shots: Shots,
  size: number,
  scorer: FrameScorer,
): Promise<Record<string, FrameScores>> {
  const squares = references.map((r) => r.square);
  const a = pixelTensor(real, size);
  const realDescriptors = scorer.identity.descriptorsIn(a, squares);
  const person = tf.tidy(() =>
    personDescriptor(scorer.identity, pixelTensor(shots.frames, size), shots.points),
  );
  const values = async (t: tf.Tensor) => {
    const v = Array.from(await t.data());
    t.dispose();
    return v;
  };
  const faces = new FaceDetections(scorer.faces);
  const scores: Record<string, FrameScores> = {};
  try {
    for (const [method, frames] of Object.entries(outputs)) {
      const [l1, peak, structural, identity, same] = tf.tidy(() => {
        const b = pixelTensor(frames, size);
        // One pass of the recognition net for both: CSIM on unit length, verification on raw.
        const descriptors = scorer.identity.rawDescriptorsIn(b, squares);
        return [
          perImageMeanAbsoluteError(b, a),
          psnr(b, a),
          ssim(b, a),
          cosine(unitLength(descriptors), realDescriptors),
          verified(descriptors, person),
        ];
      });
      const nme: number[] = [];
      const detected: number[] = [];
      for (let i = 0; i < frames.length; i++) {
        const output: RgbImage = { rgb: frames[i]!, width: size, height: size };
        nme.push(await scorer.landmarks.measure(output, references[i]!));
        detected.push(await faces.detected(output));
      }
      scores[method] = {
        l1: await values(l1),
        psnr: await values(peak),
        ssim: await values(structural),
        csim: await values(identity),
        verified: await values(same),
        nme,
        detected,
      };
    }
  } finally {
    tf.dispose([a, realDescriptors, person]);
  }
  return scores;
}
