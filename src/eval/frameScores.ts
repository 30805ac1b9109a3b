import * as tf from '@tensorflow/tfjs';
import type { RgbImage } from '../data/image';
import { pixelTensor } from '../data/frameTensors';
import { cosine, type IdentitySimilarity } from './identitySimilarity';
import type { LandmarkError, LandmarkReference } from './landmarkError';
import { meanAbsoluteError, psnr } from './pixelErrors';
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
    name: 'nme',
    label: 'landmark NME',
    better: 'lower',
    description:
      "mean error of the output's landmarks against the driver's (same net, same square), over the inter-ocular distance",
  },
];

export type MetricName = 'l1' | 'psnr' | 'ssim' | 'csim' | 'nme';
export type FrameScores = Record<MetricName, number[]>;

export interface FrameScorer {
  identity: IdentitySimilarity;
  landmarks: LandmarkError;
}

/**
 * Every per-frame metric of each method's outputs against the real frames (8-bit RGB, size x
 * size), one value per frame. `references` are the driving frames' landmark readings
 * (LandmarkError.reference). The real frames' tensor and face descriptors are made once for all
 * methods.
 */
export async function scoreMethods(
  real: readonly Uint8Array[],
  outputs: Readonly<Record<string, readonly Uint8Array[]>>,
  references: readonly LandmarkReference[],
  size: number,
  scorer: FrameScorer,
): Promise<Record<string, FrameScores>> {
  const squares = references.map((r) => r.square);
  const a = pixelTensor(real, size);
  const realDescriptors = scorer.identity.descriptorsIn(a, squares);
  const values = async (t: tf.Tensor) => {
    const v = Array.from(await t.data());
    t.dispose();
    return v;
  };
  const scores: Record<string, FrameScores> = {};
  try {
    for (const [method, frames] of Object.entries(outputs)) {
      const [l1, peak, structural, identity] = tf.tidy(() => {
        const b = pixelTensor(frames, size);
        return [
          meanAbsoluteError(b, a),
          psnr(b, a),
          ssim(b, a),
          cosine(scorer.identity.descriptorsIn(b, squares), realDescriptors),
        ];
      });
      const nme: number[] = [];
      for (let i = 0; i < frames.length; i++) {
        const output: RgbImage = { rgb: frames[i]!, width: size, height: size };
        nme.push(await scorer.landmarks.measure(output, references[i]!));
      }
      scores[method] = {
        l1: await values(l1),
        psnr: await values(peak),
        ssim: await values(structural),
        csim: await values(identity),
        nme,
      };
    }
  } finally {
    tf.dispose([a, realDescriptors]);
  }
  return scores;
}
