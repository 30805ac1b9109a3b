import * as tf from '@tensorflow/tfjs';
import { encoderSizes, encoderWidths, type ModelConfig } from './config';
import { ModuleLayer, type CallArgs, type Shape } from './layers/moduleLayer';
import { ResBlockDown } from './layers/resBlockDown';
import { SelfAttention } from './layers/selfAttention';

/**
 * The shared shape of the embedder and the discriminator: concat(x, y) -> ResBlockDown blocks
 * down to 4x4, with self-attention after the blocks whose output size the config names.
 * Returns the output of every block (attention included), for feature matching.
 */
export class EncoderTrunk extends ModuleLayer {
  static readonly className = 'EncoderTrunk';
  /** The blocks in order, attention included (read by the ONNX export). */
  readonly stages: ModuleLayer[] = [];
  /** Each stage's output shape without the batch axis, recorded as the stages are built. */
  private readonly stageShapes: Shape[] = [];

  constructor(
    private readonly config: ModelConfig,
    private readonly attentionAt: number[],
    name?: string,
  ) {
    super({ name });
  }

  override build(inputShape: Shape | Shape[]): void {
    const [xShape] = inputShape as Shape[];
    let shape: Shape = [xShape![0]!, this.config.imageSize, this.config.imageSize, 6];
    const sizes = encoderSizes(this.config);
    encoderWidths(this.config).forEach((filters, i) => {
      const block = this.addChild(
        `down${i + 1}`,
        new ResBlockDown({ filters, leakySlope: this.config.leakySlope }),
      );
      ModuleLayer.buildChild(block, shape);
      shape = block.computeOutputShape(shape);
      this.stages.push(block);
      this.stageShapes.push(shape.slice(1));
      if (this.attentionAt.includes(sizes[i]!)) {
        const attention = this.addChild(`attention${i + 1}`, new SelfAttention({}));
        ModuleLayer.buildChild(attention, shape);
        this.stages.push(attention);
        this.stageShapes.push(shape.slice(1));
      }
    });
    this.built = true;
  }

  /** Inputs [x, y] (frames and landmark images); outputs each stage's activation. */
  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: CallArgs): tf.Tensor[] {
    return tf.tidy(() => {
      const [x, y] = inputs as tf.Tensor4D[];
      let h: tf.Tensor = tf.concat([x!, y!], 3);
      const outputs: tf.Tensor[] = [];
      for (const stage of this.stages) {
        h = stage.call(h, kwargs) as tf.Tensor;
        outputs.push(h);
      }
      return outputs;
    });
  }

  /** One shape per stage, attention included, matching what call() returns. */
  override computeOutputShape(inputShape: Shape | Shape[]): Shape[] {
    const batch = (inputShape as Shape[])[0]![0]!;
    return this.stageShapes.map((shape) => [batch, ...shape]);
  }
}
