import * as tf from '@tensorflow/tfjs';
import { disposeBatch, EpisodeSampler } from '../data/episodes/sampler';
import type { DatasetStore } from '../data/store/store';
import type { Embedder } from '../models/embedder';
import type { Generator } from '../models/generator';

export interface HeldoutL1Options {
  k: number;
  batchSize: number;
  heldoutFraction: number;
  splitSeed: number;
  heldoutFrames: number;
  background: 'black' | 'white';
  /** Batches to average over. */
  batches: number;
  /** Fixed, so every evaluation of a run sees the same episodes and the curve compares. */
  seed: number;
  /**
   * 'train' (the default): held-out frames of the training identities. 'all': any frames of
   * every video, for a store of people the model never saw.
   */
  split?: 'train' | 'all';
}

/**
 * Self-reenactment L1 on held-out frames of training identities: K frames of a training video
 * are embedded, the generator draws a frame the model never trained on from its landmarks, and
 * the mean absolute pixel error against the real frame is returned (pixels in [0, 1]).
 */
export async function heldoutL1(
  networks: { embedder: Embedder; generator: Generator },
  store: DatasetStore,
  options: HeldoutL1Options,
): Promise<number> {
  const sampler = new EpisodeSampler(store, {
    ...options,
    split: options.split ?? 'train',
    frames: options.split === 'all' ? 'train' : 'heldout',
    flip: false,
    worker: false,
    prefetch: 0,
  });
  let total = 0;
  try {
    for (let i = 0; i < options.batches; i++) {
      const batch = await sampler.next();
      total += tf.tidy(() => {
        const embedding = networks.embedder.embedVideo(batch.frames, batch.frameLandmarks);
        const generated = networks.generator.generate(batch.targetLandmarks, embedding);
        return tf.mean(tf.abs(tf.sub(generated, batch.target))).dataSync()[0]!;
      });
      disposeBatch(batch);
    }
  } finally {
    await sampler.close();
  }
  return total / options.batches;
}
