import * as tf from '@tensorflow/tfjs';
import { UserError } from '../../errors';
import { printable } from '../../oneLine';
import { decodeJpeg } from '../image';
import { flipPoints } from '../landmarks/flip';
import { POINT_COUNT } from '../landmarks/points';
import { rasteriseLandmarks } from '../landmarks/rasterise';
import { Random } from '../random';
import type { DatasetStore } from '../store/store';
import type { StoreIndex } from '../store/schema';
import { splitVideos, type SplitName, type SplitOptions } from './split';

export interface EpisodeSamplerOptions {
  /** Embedder frames per episode (the paper's K = 8); the target is one more, drawn apart. */
  k: number;
  batchSize: number;
  seed: number;
  split?: SplitName;
  heldoutFraction?: number;
  splitSeed?: number;
  /** Mirror whole episodes with probability 1/2 (pixels and points, parts kept anatomical). */
  flip?: boolean;
  /** Batches prepared ahead of the one being consumed. */
  prefetch?: number;
  background?: 'black' | 'white';
}

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

export interface EpisodeBatch {
  plans: EpisodePlan[];
  videoIndex: tf.Tensor1D;
  frames: tf.Tensor5D;
  frameLandmarks: tf.Tensor5D;
  target: tf.Tensor4D;
  targetLandmarks: tf.Tensor4D;
}

export function disposeBatch(batch: EpisodeBatch): void {
  tf.dispose([
    batch.videoIndex,
    batch.frames,
    batch.frameLandmarks,
    batch.target,
    batch.targetLandmarks,
  ]);
}

/**
 * Batches of episodes from a store: per episode one video i, K frames with their landmark images
 * and a target frame with its own, all from video i. Deterministic for a seed: the plans are drawn
 * in order from one generator; the reading and decoding (sharp, on libuv's thread pool) runs ahead
 * by `prefetch` batches while the training step computes.
 */
export class EpisodeSampler {
  readonly index: StoreIndex;
  /** The W columns this sampler draws from. */
  readonly videos: readonly number[];
  readonly size: number;
  private readonly random: Random;
  private readonly queue: Promise<EpisodeArrays>[] = [];
  private readonly options: Required<EpisodeSamplerOptions>;

  constructor(
    private readonly store: DatasetStore,
    options: EpisodeSamplerOptions,
  ) {
    this.options = {
      split: 'train',
      heldoutFraction: 0.05,
      splitSeed: 0,
      flip: false,
      prefetch: 2,
      background: 'black',
      ...options,
    };
    const { k, batchSize } = this.options;
    if (!Number.isInteger(k) || k < 1) throw new Error(`k must be a positive integer, got ${k}`);
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new Error(`batchSize must be a positive integer, got ${batchSize}`);
    this.index = store.index();
    this.size = store.settings.size;
    const split: SplitOptions = {
      heldoutFraction: this.options.heldoutFraction,
      splitSeed: this.options.splitSeed,
    };
    const inSplit = splitVideos(this.index, this.options.split, split);
    this.videos = inSplit.filter((i) => this.index.frameCounts[i]! >= k + 1);
    if (this.videos.length === 0)
      throw new UserError(
        `${printable(store.path)}: no video in the ${this.options.split} split has K + 1 = ${k + 1} ` +
          `frames (${inSplit.length} videos in the split)`,
      );
    this.random = new Random(this.options.seed);
  }

  /** The next batch's plans: drawn here, synchronously and in order, whatever runs ahead. */
  private plan(): EpisodePlan[] {
    const { k, batchSize, flip } = this.options;
    return Array.from({ length: batchSize }, () => {
      const videoIndex = this.videos[this.random.int(this.videos.length)]!;
      const frames = this.random.sample(this.index.frameCounts[videoIndex]!, k + 1);
      const flipped = flip && this.random.next() < 0.5;
      return { videoIndex, key: this.index.videos[videoIndex]!, frames, flipped };
    });
  }

  private fill(): void {
    while (this.queue.length < this.options.prefetch + 1) {
      const batch = this.load(this.plan());
      // Its error surfaces when the batch is taken; until then it must not count as unhandled.
      batch.catch(() => undefined);
      this.queue.push(batch);
    }
  }

  /** The next batch as arrays; no tfjs involved (benchmarks, workers, custom pipelines). */
  async nextArrays(): Promise<EpisodeArrays> {
    this.fill();
    const batch = await this.queue.shift()!;
    this.fill();
    return batch;
  }

  /** The next batch as tensors; the caller disposes them (disposeBatch). */
  async next(): Promise<EpisodeBatch> {
    const a = await this.nextArrays();
    const { batchSize: b, k } = this.options;
    const s = this.size;
    return {
      plans: a.plans,
      videoIndex: tf.tensor1d(a.videoIndex, 'int32'),
      frames: tf.tensor5d(a.frames, [b, k, s, s, 3]),
      frameLandmarks: tf.tensor5d(a.frameLandmarks, [b, k, s, s, 3]),
      target: tf.tensor4d(a.target, [b, s, s, 3]),
      targetLandmarks: tf.tensor4d(a.targetLandmarks, [b, s, s, 3]),
    };
  }

  /** Waits for the batches in flight, so the store can be closed safely. */
  async close(): Promise<void> {
    await Promise.allSettled(this.queue.splice(0));
  }

  private async load(plans: EpisodePlan[]): Promise<EpisodeArrays> {
    const { k, background } = this.options;
    const s = this.size;
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
        const record = this.store.getVideo(plan.key);
        if (!record)
          throw new UserError(
            `${printable(this.store.path)}: indexed video ${plan.key} is missing`,
          );
        await Promise.all(
          plan.frames.map(async (j, slot) => {
            const isTarget = slot === k;
            const pixels = isTarget ? arrays.target : arrays.frames;
            const landmarks = isTarget ? arrays.targetLandmarks : arrays.frameLandmarks;
            const offset = (isTarget ? b : b * k + slot) * image;
            const decoded = await decodeJpeg(this.store.readFrame(plan.key, j));
            if (decoded.width !== s || decoded.height !== s)
              throw new UserError(
                `${printable(this.store.path)}: frame ${j} of ${plan.key} is ${decoded.width}x${decoded.height}, not ${s}x${s}`,
              );
            writePixels(decoded.rgb, s, plan.flipped, pixels, offset);
            let points = record.points.subarray(j * POINT_COUNT * 2, (j + 1) * POINT_COUNT * 2);
            if (plan.flipped) points = flipPoints(points, s);
            rasteriseLandmarks(points, { size: s, background }, landmarks, offset);
          }),
        );
      }),
    );
    return arrays;
  }
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
