import * as tf from '@tensorflow/tfjs';
import { validateModelConfig, type ModelConfig } from './config';
import { EncoderTrunk } from './encoderTrunk';
import { globalPool } from './layers/globalPool';
import { ModuleLayer, type CallArgs, type LayerVariable, type Shape } from './layers/moduleLayer';
import { PlainResBlock } from './layers/plainResBlock';

export interface DiscriminatorOutput {
  /** r, one per sample. No sigmoid: the hinge loss takes the raw score. */
  score: tf.Tensor1D;
  /** Activations after each residual block (and attention), for feature matching. */
  features: tf.Tensor4D[];
  /** v, the pooled feature vector the projection uses. */
  v: tf.Tensor2D;
}

/**
 * Projection discriminator V(x, y, i): the encoder trunk on concat(x, y), one more residual
 * block without normalisation, global pooling and ReLU to v, then
 *   r = v·(W[:, i] + w0) + b,
 * with one column of W per training video. After enterFinetuning(), r = v·w' + b with a free
 * w' initialised to w0 + ê_NEW.
 */
export class Discriminator extends ModuleLayer {
  static readonly className = 'Discriminator';
  readonly config: ModelConfig;
  readonly numVideos: number;
  private trunk!: EncoderTrunk;
  private extra!: PlainResBlock;
  private W!: LayerVariable;
  private w0!: LayerVariable;
  private b!: LayerVariable;
  private wPrime: LayerVariable | undefined;

  constructor(
    config: ModelConfig,
    numVideos: number,
    options: { seed?: number; name?: string } = {},
  ) {
    super({ name: options.name ?? 'discriminator' });
    if (!Number.isInteger(numVideos) || numVideos < 1) {
      throw new Error(`the discriminator needs at least one training video, got ${numVideos}`);
    }
    this.config = validateModelConfig(config);
    this.numVideos = numVideos;
    const s = this.config.imageSize;
    this.seedWeightsByPath(options.seed ?? 0, 'discriminator.');
    // Weights do not depend on the batch size: build now so they exist before the first call.
    this.build([
      [1, s, s, 3],
      [1, s, s, 3],
    ]);
  }

  get mode(): 'meta' | 'finetune' {
    return this.wPrime ? 'finetune' : 'meta';
  }

  override build(inputShape: Shape | Shape[]): void {
    const batch = (inputShape as Shape[])[0]![0]!;
    const e = this.config.embeddingSize;
    const trunk = new EncoderTrunk(this.config, this.config.attention.discriminator);
    this.trunk = this.addChild('trunk', trunk);
    ModuleLayer.buildChild(this.trunk, inputShape);
    const slope = this.config.leakySlope;
    this.extra = this.addChild('extra', new PlainResBlock({ leakySlope: slope }));
    ModuleLayer.buildChild(this.extra, [batch, 4, 4, e]);
    const init = () => tf.initializers.randomNormal({ mean: 0, stddev: 0.02 });
    this.W = this.addNamedWeight('W', [e, this.numVideos], init());
    this.w0 = this.addNamedWeight('w0', [e], init());
    this.b = this.addNamedWeight('b', [1], tf.initializers.zeros());
    this.built = true;
  }

  /** W, [embeddingSize, numVideos]: one column per training video; L_MCH pulls them to ê. */
  get projectionMatrix(): LayerVariable {
    return this.W;
  }

  /** W[:, i] for a batch of video indices, as rows [batch, embeddingSize]. */
  videoColumns(videoIndex: tf.Tensor1D): tf.Tensor2D {
    return tf.tidy(
      () => tf.transpose(tf.gather(this.projectionMatrix.read(), videoIndex, 1)) as tf.Tensor2D,
    );
  }

  /** Fine-tuning: a free w' = w0 + ê_NEW replaces W_i + w0; W and w0 are frozen. */
  enterFinetuning(embedding: tf.Tensor): void {
    const e = this.config.embeddingSize;
    if (embedding.size !== e) throw new Error(`w' needs ${e} values, got ${embedding.size}`);
    if (!this.wPrime) this.wPrime = this.addNamedWeight('wPrime', [e], tf.initializers.zeros());
    this.wPrime.write(tf.tidy(() => tf.add(this.w0.read(), tf.reshape(embedding, [e]))));
    this.W.trainable = false;
    this.w0.trainable = false;
  }

  /**
   * Inputs [x, y, videoIndex] in meta mode, [x, y] in fine-tuning mode.
   * Outputs [score, ...features, v] (see discriminate() for the typed form).
   */
  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: CallArgs): tf.Tensor[] {
    return tf.tidy(() => {
      const [x, y, videoIndex] = inputs as [tf.Tensor4D, tf.Tensor4D, tf.Tensor1D?];
      const features = this.trunk.call([x, y], kwargs);
      features.push(this.extra.call(features[features.length - 1]!, kwargs) as tf.Tensor);
      const last = features[features.length - 1] as tf.Tensor4D;
      const v = tf.relu(globalPool(last, this.config.discriminatorPooling));
      const score = tf.add(tf.sum(tf.mul(v, this.direction(videoIndex)), 1), this.b.read());
      return [score, ...features, v];
    });
  }

  /** The projection direction: w' when fine-tuning, else W[:, i] + w0 per sample. */
  private direction(videoIndex: tf.Tensor1D | undefined): tf.Tensor {
    if (this.wPrime) return this.wPrime.read();
    if (videoIndex == null)
      throw new Error('discriminator in meta mode needs inputs [x, y, videoIndex]');
    return tf.add(this.videoColumns(videoIndex), this.w0.read());
  }

  discriminate(
    x: tf.Tensor4D,
    y: tf.Tensor4D,
    videoIndex?: tf.Tensor1D,
    training = false,
  ): DiscriminatorOutput {
    const out = this.call(videoIndex ? [x, y, videoIndex] : [x, y], { training });
    return {
      score: out[0] as tf.Tensor1D,
      features: out.slice(1, -1) as tf.Tensor4D[],
      v: out[out.length - 1] as tf.Tensor2D,
    };
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape[] {
    const batch = (inputShape as Shape[])[0]![0]!;
    const e = this.config.embeddingSize;
    const trunk = this.trunk.computeOutputShape(inputShape);
    return [[batch], ...trunk, [batch, 4, 4, e], [batch, e]];
  }
}
