import * as tf from '@tensorflow/tfjs';
import type { PersonShots } from '../data/person';
import { meanPoints, type Points } from '../data/landmarks/points';
import { frameTensors } from '../data/frameTensors';
import type { Generator } from '../models/generator';
import { meanEmbedding } from './meanEmbedding';
import { loadMetaNetworks, type MetaCheckpoint } from './metaCheckpoint';

/**
 * The feed-forward person (docs/method.md, Feed-forward model): G with psi' = P·ê, ê the mean of E
 * over the shots. What `animate --image` uses, in memory; `finetune --feed-forward` saves the same.
 */
export async function feedForwardGenerator(
  meta: MetaCheckpoint,
  shots: PersonShots,
): Promise<{ generator: Generator; meanPoints: Points }> {
  const { size, background } = meta.framing;
  const networks = await loadMetaNetworks(meta);
  networks.discriminator.dispose();
  try {
    tf.tidy(() => {
      const inputs = frameTensors(
        shots.frames.map((f) => f.rgb),
        shots.points,
        size,
        background,
      );
      const e = meanEmbedding(networks.embedder, inputs.frames, inputs.landmarks);
      networks.generator.enterFinetuning(networks.generator.projectEmbedding(e));
    });
  } catch (err) {
    networks.generator.dispose();
    throw err;
  } finally {
    networks.embedder.dispose();
  }
  return { generator: networks.generator, meanPoints: meanPoints(shots.points) };
}

/** Generated frames in [0, 1] -> RGB bytes, one array per frame. */
export async function framesToBytes(
  generator: Generator,
  landmarkImages: Float32Array,
  count: number,
): Promise<Uint8Array[]> {
  const size = generator.config.imageSize;
  const bytes = tf.tidy(() => {
    // Training compares G's output with frames in [0, 1] whatever its activation, so a tanh
    // generator learns that range too: its output is a frame as it is, clipped.
    const out = generator.generate(tf.tensor4d(landmarkImages, [count, size, size, 3]));
    return tf.cast(tf.round(tf.mul(tf.clipByValue(out, 0, 1), 255)), 'int32');
  });
  const values = await bytes.data();
  bytes.dispose();
  const image = size * size * 3;
  return Array.from({ length: count }, (_, i) =>
    Uint8Array.from(values.subarray(i * image, (i + 1) * image)),
  );
}
