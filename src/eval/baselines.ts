import { POINT_COUNT, type Points } from '../data/landmarks/points';

/**
 * The reference methods every evaluation runs beside the model (issue: "a model that does not
 * beat them is visibly not working"). Both see only the K shots and the target's landmarks.
 */
export const BASELINES = ['copy-nearest-shot', 'mean-shot'] as const;

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
  return {
    'copy-nearest-shot': targets.map((t) => shots.frames[nearestShot(shots.points, t)]!),
    'mean-shot': targets.map(() => mean),
  };
}
