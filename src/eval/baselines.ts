import { POINT_COUNT, type Points } from '../data/landmarks/points';
import { warpToLandmarks } from './piecewiseAffineWarp';

/**
 * The reference methods every evaluation runs beside the model: a model that does not beat them
 * is visibly not working. Each sees only the K shots and the target's landmarks.
 * warp-nearest-shot is the classical method (a piecewise-affine warp of the nearest shot onto the
 * target's landmarks): what a GAN must beat to be worth its cost.
 */
export const BASELINES = ['copy-nearest-shot', 'mean-shot', 'warp-nearest-shot'] as const;

/** Mean distance between corresponding points, in pixels. */
export function meanPointDistance(a: Points, b: Points): number {
  let sum = 0;
  for (let i = 0; i < POINT_COUNT; i++)
    sum += Math.hypot(a[2 * i]! - b[2 * i]!, a[2 * i + 1]! - b[2 * i + 1]!);
  return sum / POINT_COUNT;
}

/** The shot whose landmarks are closest to the target's (pose, place and expression at once). */
export function nearestShot(shotPoints: readonly Points[], target: Points): number {
  let best = 0;
  let bestDistance = Infinity;
  shotPoints.forEach((p, k) => {
    const d = meanPointDistance(p, target);
    if (d < bestDistance) [best, bestDistance] = [k, d];
  });
  return best;
}

/** The pixel-wise mean of the shots, rounded to 8 bits. */
export function meanShot(frames: readonly Uint8Array[]): Uint8Array {
  const sum = new Float64Array(frames[0]!.length);
  for (const f of frames) for (let i = 0; i < f.length; i++) sum[i] += f[i]!;
  return Uint8Array.from(sum, (v) => Math.round(v / frames.length));
}

/** Each baseline's output for each target. */
export function baselineOutputs(
  shots: { frames: readonly Uint8Array[]; points: readonly Points[] },
  targets: readonly Points[],
): Record<(typeof BASELINES)[number], Uint8Array[]> {
  const mean = meanShot(shots.frames);
  const nearest = targets.map((t) => nearestShot(shots.points, t));
  const size = Math.round(Math.sqrt(shots.frames[0]!.length / 3));
  return {
    'copy-nearest-shot': nearest.map((k) => shots.frames[k]!),
    'mean-shot': targets.map(() => mean),
    'warp-nearest-shot': nearest.map((k, i) =>
      warpToLandmarks(shots.frames[k]!, size, shots.points[k]!, targets[i]!),
    ),
  };
}
