import * as tf from '@tensorflow/tfjs';
import { UserError } from '../../errors';
import { printable } from '../../oneLine';
import { loadEpisodeArrays, type EpisodeArrays, type EpisodePlan } from './episodeArrays';
import { EpisodeWorkerClient } from './episodeWorkerClient';
import { Random } from '../random';
import { checkStoreServes } from '../store/framesAtSize';
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
  /**
   * The last `heldoutFrames` stored frames of every video are kept out of training episodes;
   * with `frames: 'heldout'` they are the targets (K frames still come from the rest). This is
   * the held-out set for self-reenactment error on frames of *training* identities.
   */
  heldoutFrames?: number;
  frames?: 'train' | 'heldout';
  /** Batches prepared ahead of the one being consumed. */
  prefetch?: number;
  /**
   * Load in a worker thread (default): a synchronous training step then never waits for data.
   * false loads on the main thread between steps.
   */
  worker?: boolean;
  background?: 'black' | 'white';
  /** The model's image size: the store's (default) or smaller (frames resized as they are read). */
  imageSize?: number;
}

export type { EpisodeArrays, EpisodePlan };

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
 * in order from one generator; the reading and decoding run ahead by `prefetch` batches in a worker
 * thread, while the training step computes on the main thread.
 */
export class EpisodeSampler {
  readonly index: StoreIndex;
  /** The W columns this sampler draws from. */
  readonly videos: readonly number[];
  readonly size: number;
  private readonly random: Random;
  private readonly queue: Promise<EpisodeArrays>[] = [];
  private readonly options: Required<EpisodeSamplerOptions>;
  private readonly loadPlans: (plans: EpisodePlan[]) => Promise<EpisodeArrays>;
  private readonly closeLoader: () => Promise<void>;

  constructor(store: DatasetStore, options: EpisodeSamplerOptions) {
    this.options = {
      split: 'train',
      heldoutFraction: 0.05,
      splitSeed: 0,
      flip: false,
      prefetch: 2,
      background: 'black',
      worker: true,
      heldoutFrames: 0,
      frames: 'train',
      imageSize: store.settings.size,
      ...options,
    };
    const { k, batchSize } = this.options;
    if (!Number.isInteger(k) || k < 1) throw new Error(`k must be a positive integer, got ${k}`);
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new Error(`batchSize must be a positive integer, got ${batchSize}`);
    this.index = store.index();
    this.size = this.options.imageSize;
    checkStoreServes(store, this.size, 'the model');
    const split: SplitOptions = {
      heldoutFraction: this.options.heldoutFraction,
      splitSeed: this.options.splitSeed,
    };
    const inSplit = splitVideos(this.index, this.options.split, split);
    const { heldoutFrames: h, frames } = this.options;
    if (!Number.isInteger(h) || h < 0) throw new Error(`heldoutFrames must be >= 0, got ${h}`);
    if (frames === 'heldout' && h === 0)
      throw new Error("frames: 'heldout' needs heldoutFrames > 0");
    // Training episodes need K + 1 frames outside the held-out ones; held-out episodes K.
    const needed = frames === 'train' ? k + 1 : k;
    this.videos = inSplit.filter((i) => this.index.frameCounts[i]! - h >= needed);
    if (this.videos.length === 0)
      throw new UserError(
        `${printable(store.path)}: no video in the ${this.options.split} split has ` +
          `${needed + h} frames (K = ${k}${h ? `, ${h} held out` : ''}; ${inSplit.length} videos in the split)`,
      );
    this.random = new Random(this.options.seed);
    const load = { k, background: this.options.background, size: this.size };
    if (this.options.worker) {
      // Started on the first batch, so a sampler made only to inspect its split costs no thread.
      let client: EpisodeWorkerClient | undefined;
      this.loadPlans = (plans) =>
        (client ??= new EpisodeWorkerClient(store.path, load)).load(plans);
      this.closeLoader = async () => client?.close();
    } else {
      this.loadPlans = (plans) => loadEpisodeArrays(store, plans, load);
      this.closeLoader = async () => undefined;
    }
  }

  /** The next batch's plans: drawn here, synchronously and in order, whatever runs ahead. */
  private plan(): EpisodePlan[] {
    const { k, batchSize, flip, heldoutFrames: h } = this.options;
    return Array.from({ length: batchSize }, () => {
      const videoIndex = this.videos[this.random.int(this.videos.length)]!;
      const usable = this.index.frameCounts[videoIndex]! - h;
      const frames =
        this.options.frames === 'train'
          ? this.random.sample(usable, k + 1)
          : [...this.random.sample(usable, k), usable + this.random.int(h)];
      const flipped = flip && this.random.next() < 0.5;
      return { videoIndex, key: this.index.videos[videoIndex]!, frames, flipped };
    });
  }

  /**
   * Draws and drops the next `batches` batches' plans without reading anything: a resumed run
   * continues the exact episode sequence of an uninterrupted one. Only before the first batch.
   */
  skip(batches: number): void {
    if (this.queue.length > 0) throw new Error('skip() must come before the first batch');
    for (let i = 0; i < batches; i++) this.plan();
  }

  private fill(): void {
    while (this.queue.length < this.options.prefetch + 1) {
      const batch = this.loadPlans(this.plan());
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

  /** Waits for the batches in flight and stops the loader, so the store can be closed safely. */
  async close(): Promise<void> {
    await Promise.allSettled(this.queue.splice(0));
    await this.closeLoader();
  }
}
