import * as tf from '@tensorflow/tfjs';
import { ModuleLayer, single, type CallArgs, type Shape, subSeed } from './moduleLayer';
import { SNConv2D } from './snConv2d';
import { leakyRelu } from '../../ops/leakyRelu';

/** The discriminator's extra residual block, without normalisation: x + conv(lrelu(conv(lrelu(x)))). */
export class PlainResBlock extends ModuleLayer {
  static readonly className = 'PlainResBlock';
  private readonly leakySlope: number;
  private readonly seed: number | undefined;
  private conv1!: SNConv2D;
  private conv2!: SNConv2D;

  constructor(args: { leakySlope: number; seed?: number; name?: string }) {
    super({ name: args.name });
    this.leakySlope = args.leakySlope;
    this.seed = args.seed;
  }

  override build(inputShape: Shape): void {
    const filters = inputShape[inputShape.length - 1]!;
    this.conv1 = this.addChild(
      'conv1',
      new SNConv2D({ filters, kernelSize: 3, seed: subSeed(this.seed, 0) }),
    );
    this.conv2 = this.addChild(
      'conv2',
      new SNConv2D({ filters, kernelSize: 3, seed: subSeed(this.seed, 1) }),
    );
    ModuleLayer.buildChild(this.conv1, inputShape);
    ModuleLayer.buildChild(this.conv2, inputShape);
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: CallArgs): tf.Tensor {
    return tf.tidy(() => {
      const x = single(inputs);
      let h = this.conv1.call(leakyRelu(x, this.leakySlope), kwargs);
      h = this.conv2.call(leakyRelu(h, this.leakySlope), kwargs);
      return tf.add(x, h);
    });
  }

  override computeOutputShape(inputShape: Shape): Shape {
    return inputShape;
  }
}
