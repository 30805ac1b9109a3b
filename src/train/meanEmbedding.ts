import * as tf from '@tensorflow/tfjs';
import type { Embedder } from '../models/embedder';

/**
 * ê = mean of E(x_k, y_k) over a person's shots, [1, embeddingSize], computed `batch` shots at
 * a time: the paper's embedder on 32 shots of 256 px at once would hold gigabytes of activations.
 */
export function meanEmbedding(
  embedder: Embedder,
  frames: tf.Tensor4D,
  landmarks: tf.Tensor4D,
  batch = 4,
): tf.Tensor2D {
  const count = frames.shape[0];
  let sum: tf.Tensor2D | undefined;
  for (let first = 0; first < count; first += batch) {
    const n = Math.min(batch, count - first);
    const part = tf.tidy(() => {
      const slice = (t: tf.Tensor4D) => tf.slice(t, [first], [n]);
      return tf.sum(embedder.embed(slice(frames), slice(landmarks)), 0, true) as tf.Tensor2D;
    });
    const next = sum ? (tf.add(sum, part) as tf.Tensor2D) : part;
    if (sum) tf.dispose([sum, part]);
    sum = next;
  }
  const mean = tf.div(sum!, count) as tf.Tensor2D;
  sum!.dispose();
  return mean;
}
