import * as tf from '@tensorflow/tfjs';
import { validateModelConfig, type ModelConfig } from './config';
import { EncoderTrunk } from './encoderTrunk';
import { globalPool } from './layers/globalPool';
import { ModuleLayer, type CallArgs, type Shape } from './layers/moduleLayer';

/**
 * E(x, y): frame and landmark image -> e in R^embeddingSize (non-negative: pooled, then ReLU).
 * The video embedding ê is the mean of e over a video's K frames (see embedVideo).
 */
export class Embedder extends ModuleLayer {
  static readonly className = 'Embedder';
  readonly config: ModelConfig;
  trunk!: EncoderTrunk;

  constructor(config: ModelConfig, options: { seed?: number; name?: string } = {}) {
    super({ name: options.name ?? 'embedder' });
    this.config = validateModelConfig(config);
    const s = this.config.imageSize;
    this.seedWeightsByPath(options.seed ?? 0, 'embedder.');
    // Weights do not depend on the batch size: build now so they exist before the first call.
    this.build([
      [1, s, s, 3],
      [1, s, s, 3],
    ]);
  }

  override build(inputShape: Shape | Shape[]): void {
    this.trunk = this.addChild(
      'trunk',
      new EncoderTrunk(this.config, this.config.attention.embedder),
    );
    ModuleLayer.buildChild(this.trunk, inputShape);
    this.built = true;
  }

  /** Builds every weight for a batch size without running the network. */
  /** Inputs [x, y], each [batch, size, size, 3]; output e [batch, embeddingSize]. */
  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: CallArgs): tf.Tensor {
    return tf.tidy(() => {
      const features = this.trunk.call(inputs, kwargs);
      return tf.relu(
        globalPool(features[features.length - 1] as tf.Tensor4D, this.config.embedderPooling),
      );
    });
  }

  embed(x: tf.Tensor4D, y: tf.Tensor4D, training = false): tf.Tensor2D {
    return this.call([x, y], { training }) as tf.Tensor2D;
  }

  /** ê: the mean embedding of K frames per video; x and y are [videos, K, size, size, 3]. */
  embedVideo(x: tf.Tensor5D, y: tf.Tensor5D, training = false): tf.Tensor2D {
    return tf.tidy(() => {
      const [videos, k, h, w, c] = x.shape;
      const flat = (t: tf.Tensor5D) => tf.reshape(t, [videos * k, h, w, c]) as tf.Tensor4D;
      const e = this.embed(flat(x), flat(y), training);
      return tf.mean(tf.reshape(e, [videos, k, -1]), 1) as tf.Tensor2D;
    });
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return [(inputShape as Shape[])[0]![0]!, this.config.embeddingSize];
  }
}
