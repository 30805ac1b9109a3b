import { UserError } from '../../errors';
import { printable } from '../../oneLine';
import { flipPoints } from '../landmarks/flip';
import { POINT_COUNT } from '../landmarks/points';
import { rasteriseLandmarks } from '../landmarks/rasterise';
import { pointsAt, readFrameAt } from '../store/framesAtSize';
import type { DatasetStore } from '../store/store';

/** What one episode is made of, drawn before any data is read (so prefetching cannot reorder it). */
export interface EpisodePlan {
  /** The video's index in the store: its W column in the projection discriminator. */
  videoIndex: number;
  key: string;
  /** Stored frame numbers: K embedder frames, then the target (distinct from all of them). */
  frames: number[];
  flipped: boolean;
}

/**
 * One batch as flat arrays, NHWC, pixels and landmark images in [0, 1]:
 * frames/frameLandmarks [B, K, S, S, 3], target/targetLandmarks [B, S, S, 3].
 */
export interface EpisodeArrays {
  plans: EpisodePlan[];
  videoIndex: Int32Array;
  frames: Float32Array;
  frameLandmarks: Float32Array;
  target: Float32Array;
  targetLandmarks: Float32Array;
}

export interface LoadOptions {
  k: number;
  background: 'black' | 'white';
  /** The frames' side: the store's, or smaller (frames resized, landmarks scaled). */
  size: number;
}

/** Reads, decodes and draws the planned episodes (JPEG decoding runs on libuv's thread pool). */
export async function loadEpisodeArrays(
  store: DatasetStore,
  plans: EpisodePlan[],
  { k, background, size: s }: LoadOptions,
): Promise<EpisodeArrays> {
  const image = s * s * 3;
  const arrays: EpisodeArrays = {
    plans,
    videoIndex: Int32Array.from(plans, (p) => p.videoIndex),
    frames: new Float32Array(plans.length * k * image),
    frameLandmarks: new Float32Array(plans.length * k * image),
    target: new Float32Array(plans.length * image),
    targetLandmarks: new Float32Array(plans.length * image),
  };
  await Promise.all(
    plans.map(async (plan, b) => {
      const record = store.getVideo(plan.key);
      if (!record)
        throw new UserError(`${printable(store.path)}: indexed video ${plan.key} is missing`);
      await Promise.all(
        plan.frames.map(async (j, slot) => {
          const isTarget = slot === k;
          const pixels = isTarget ? arrays.target : arrays.frames;
          const landmarks = isTarget ? arrays.targetLandmarks : arrays.frameLandmarks;
          const offset = (isTarget ? b : b * k + slot) * image;
          const rgb = await readFrameAt(store, plan.key, j, s);
          writePixels(rgb, s, plan.flipped, pixels, offset);
          const stored = record.points.subarray(j * POINT_COUNT * 2, (j + 1) * POINT_COUNT * 2);
          let points = pointsAt(stored, store.settings.size, s);
          if (plan.flipped) points = flipPoints(points, s);
          rasteriseLandmarks(points, { size: s, background }, landmarks, offset);
        }),
      );
    }),
  );
  return arrays;
}

/** The buffers to hand over (not copy) when a batch crosses from a worker thread. */
export function transferList(arrays: EpisodeArrays): ArrayBuffer[] {
  return [
    arrays.videoIndex,
    arrays.frames,
    arrays.frameLandmarks,
    arrays.target,
    arrays.targetLandmarks,
  ].map((a) => a.buffer as ArrayBuffer);
}

/** 8-bit RGB -> floats in [0, 1] at `offset`, mirrored left-right when `flipped`. */
function writePixels(
  rgb: Uint8Array,
  size: number,
  flipped: boolean,
  out: Float32Array,
  offset: number,
): void {
  const scale = 1 / 255;
  for (let y = 0; y < size; y++) {
    const row = y * size * 3;
    for (let x = 0; x < size; x++) {
      const from = row + (flipped ? size - 1 - x : x) * 3;
      const to = offset + row + x * 3;
      out[to] = rgb[from]! * scale;
      out[to + 1] = rgb[from + 1]! * scale;
      out[to + 2] = rgb[from + 2]! * scale;
    }
  }
}
