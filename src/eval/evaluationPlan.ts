import { Random } from '../data/random';
import { evenlySpaced, shardOf } from '../data/sampling';

export interface PlanVideo {
  key: string;
  identity: string;
  /** Stored frames. */
  frames: number;
}

/** A video key (`identity/clip`, any characters) as part of a file name. */
export function fileStem(videoKey: string): string {
  return videoKey.replace(/[^A-Za-z0-9._-]+/g, '_');
}

/** One self-reenactment: K shots of a video, and the frames to draw from their landmarks. */
export interface EvaluationUnit {
  video: string;
  identity: string;
  shots: number;
  /** Stored frame indices used as the shots. */
  shotFrames: number[];
  /** Stored frame indices to generate and compare: never among the shots. */
  targetFrames: number[];
}

export interface SkippedUnit {
  video: string;
  shots: number;
  reason: string;
}

export interface PlanOptions {
  shotCounts: readonly number[];
  /** Target frames per video. */
  targets: number;
  /** At most this many videos (a seeded choice); all when undefined. */
  maxVideos?: number;
  seed: number;
}

export interface EvaluationPlan {
  videos: PlanVideo[];
  units: EvaluationUnit[];
  skipped: SkippedUnit[];
}

/**
 * Which frames of which videos an evaluation uses. Per video the targets are the same for
 * every K (evenly spread over the clip), and the shots are nested (the 1 shot is among the 8,
 * the 8 among the 32), drawn from the other frames: differences between shot counts are then
 * the shots', not the sampling's. A video with too few frames for K shots plus the targets is
 * skipped for that K, with the reason.
 */
export function planEvaluation(all: readonly PlanVideo[], options: PlanOptions): EvaluationPlan {
  const videos =
    options.maxVideos !== undefined && options.maxVideos < all.length
      ? new Random(options.seed)
          .sample(all.length, options.maxVideos)
          .sort((a, b) => a - b)
          .map((i) => all[i]!)
      : [...all];
  const units: EvaluationUnit[] = [];
  const skipped: SkippedUnit[] = [];
  for (const video of videos) {
    const targetFrames = evenlySpaced(video.frames, options.targets);
    const taken = new Set(targetFrames);
    const rest = Array.from({ length: video.frames }, (_, j) => j).filter((j) => !taken.has(j));
    // Seeded per video by its key, so adding a video to the store leaves the others' draws alone.
    const random = new Random(options.seed * 1000003 + shardOf(video.key, 2 ** 31));
    const order = random.sample(rest.length, rest.length).map((i) => rest[i]!);
    for (const k of options.shotCounts) {
      if (video.frames < options.targets + k) {
        skipped.push({
          video: video.key,
          shots: k,
          reason:
            `has ${video.frames} frames; ${k} shots and ${options.targets} targets need ` +
            `${k + options.targets}`,
        });
        continue;
      }
      units.push({
        video: video.key,
        identity: video.identity,
        shots: k,
        shotFrames: order.slice(0, k).sort((a, b) => a - b),
        targetFrames,
      });
    }
  }
  return { videos, units, skipped };
}
