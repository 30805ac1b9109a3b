import * as tf from '@tensorflow/tfjs';
import type { RgbImage } from '../data/image';
import type { IdentitySimilarity } from './identitySimilarity';
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

/** 8-bit RGB frames -> [n, size, size, 3] in [0, 1]. */
export function framesTensor(frames: readonly Uint8Array[], size: number): tf.Tensor4D {
  const image = size * size * 3;
  const values = new Float32Array(frames.length * image);
  frames.forEach((f, k) => {
    for (let i = 0; i < image; i++) values[k * image + i] = f[i]! / 255;
  });
  return tf.tensor4d(values, [frames.length, size, size, 3]);
}

/**
 * Every per-frame metric of `outputs` against the real frames (8-bit RGB, size x size), one value
 * per frame. `references` are the driving frames' landmark readings (LandmarkError.reference).
 */
export async function scoreFrames(
  real: readonly Uint8Array[],
  outputs: readonly Uint8Array[],
  references: readonly LandmarkReference[],
  size: number,
  scorer: FrameScorer,
): Promise<FrameScores> {
  const [l1, peak, structural, identity] = tf.tidy(() => {
    const a = framesTensor(real, size);
    const b = framesTensor(outputs, size);
    const squares = references.map((r) => r.square);
    return [
      meanAbsoluteError(b, a),
      psnr(b, a),
      ssim(b, a),
      scorer.identity.similarity(b, a, squares),
    ];
  });
  const values = async (t: tf.Tensor) => {
    const v = Array.from(await t.data());
    t.dispose();
    return v;
  };
  const nme: number[] = [];
  for (let i = 0; i < outputs.length; i++) {
    const output: RgbImage = { rgb: outputs[i]!, width: size, height: size };
    nme.push(await scorer.landmarks.measure(output, references[i]!));
  }
  return {
    l1: await values(l1),
    psnr: await values(peak),
    ssim: await values(structural),
    csim: await values(identity),
    nme,
  };
}
