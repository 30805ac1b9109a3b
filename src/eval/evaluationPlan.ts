import { Random } from '../data/random';
import { evenlySpaced, shardOf } from '../data/sampling';

export interface PlanVideo {
  key: string;
  identity: string;
  /** Stored frames. */
  frames: number;
}

/** A unit's name: its video, or across recordings `target<-shots`. */
export function unitVideos(unit: Pick<EvaluationUnit, 'video' | 'shotVideo'>): string {
  return unit.shotVideo === undefined ? unit.video : `${unit.video}<-${unit.shotVideo}`;
}

/** A video key (`identity/clip`, any characters) as part of a file name. */
export function fileStem(videoKey: string): string {
  return videoKey.replace(/[^A-Za-z0-9._-]+/g, '_');
}

/** One self-reenactment: K shots of a video, and the frames to draw from their landmarks. */
export interface EvaluationUnit {
  /** The video whose frames are the targets (and, within a recording, the shots). */
  video: string;
  /** Across recordings: the other video of the same identity that the shots come from. */
  shotVideo?: string;
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
  /**
   * Shots from one recording, targets from another of the same identity: a unit per ordered
   * pair of an identity's videos. Off: shots and targets from the same video.
   */
  acrossRecordings?: boolean;
  /** Across recordings: the shots from this video only (a store key); every partner otherwise. */
  shotsFrom?: string;
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
 * skipped for that K, with the reason. Across recordings, each ordered pair of an identity's
 * videos is a unit: the shots are drawn from all of one, the targets spread over all of the other
 * (fine-tune on one recording, drive with another); `shotsFrom` keeps the pairs whose shots come
 * from that one video.
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
  const skip = (video: string, shots: number, reason: string) =>
    skipped.push({ video, shots, reason });
  for (const video of videos) {
    const targetFrames = evenlySpaced(video.frames, options.targets);
    if (!options.acrossRecordings) {
      const taken = new Set(targetFrames);
      const rest = Array.from({ length: video.frames }, (_, j) => j).filter((j) => !taken.has(j));
      const order = shuffled(rest, options.seed, video.key);
      for (const k of options.shotCounts) {
        if (video.frames < options.targets + k)
          skip(
            video.key,
            k,
            `has ${video.frames} frames; ${k} shots and ${options.targets} targets need ` +
              `${k + options.targets}`,
          );
        else
          units.push({
            video: video.key,
            identity: video.identity,
            shots: k,
            shotFrames: order.slice(0, k).sort((a, b) => a - b),
            targetFrames,
          });
      }
      continue;
    }
    // Every other recording of the identity lends the shots; the targets spread over this one.
    const partners = all.filter(
      (v) =>
        v.identity === video.identity &&
        v.key !== video.key &&
        (options.shotsFrom === undefined || v.key === options.shotsFrom),
    );
    if (options.shotsFrom !== undefined && partners.length === 0) continue;
    for (const k of options.shotCounts) {
      if (partners.length === 0) skip(video.key, k, `no other recording of ${video.identity}`);
      else if (video.frames < options.targets)
        skip(video.key, k, `has ${video.frames} frames; ${options.targets} targets need more`);
    }
    if (partners.length === 0 || video.frames < options.targets) continue;
    for (const partner of partners) {
      const frames = Array.from({ length: partner.frames }, (_, j) => j);
      const order = shuffled(frames, options.seed, `${video.key}<-${partner.key}`);
      for (const k of options.shotCounts) {
        const unit = { video: video.key, shotVideo: partner.key };
        if (partner.frames < k)
          skip(
            unitVideos(unit),
            k,
            `${partner.key} has ${partner.frames} frames; ${k} shots need more`,
          );
        else
          units.push({
            ...unit,
            identity: video.identity,
            shots: k,
            shotFrames: order.slice(0, k).sort((a, b) => a - b),
            targetFrames,
          });
      }
    }
  }
  return { videos, units, skipped };
}

/**
 * `frames` in a seeded order, seeded per unit by its name: adding a video to the store leaves the
 * others' draws alone. Taking the first K of one order nests the shots (1 among 8 among 32).
 */
function shuffled(frames: readonly number[], seed: number, name: string): number[] {
  const random = new Random(seed * 1000003 + shardOf(name, 2 ** 31));
  return random.sample(frames.length, frames.length).map((i) => frames[i]!);
}
