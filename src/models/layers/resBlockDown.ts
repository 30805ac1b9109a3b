import * as tf from '@tensorflow/tfjs';
import { ModuleLayer, single, type CallArgs, type Shape, subSeed } from './moduleLayer';
import { avgPool2x } from './resampling';
import { SNConv2D } from './snConv2d';
import { leakyRelu } from '../../ops/leakyRelu';

export interface ResBlockDownArgs {
  filters: number;
  /** Kernel of the two main-path convs: 3, or 9 for the generator's first block in one port. */
  kernelSize?: number;
  leakySlope: number;
  /**
   * False when the block's output feeds a normalisation directly (the generator's down path):
   * a bias there is removed by the normalisation and would get no gradient.
   */
  outputBias?: boolean;
  seed?: number;
  name?: string;
}

/**
 * BigGAN-style downsampling residual block:
 *   skip = avgpool2(conv1x1(x)); main = avgpool2(conv(lrelu(conv(lrelu(x))))); out = skip + main.
 */
export class ResBlockDown extends ModuleLayer {
  static readonly className = 'ResBlockDown';
  readonly filters: number;
  private readonly kernelSize: number;
  readonly leakySlope: number;
  private readonly outputBias: boolean;
  private readonly seed: number | undefined;
  /** The convs, read by the ONNX export. */
  skip!: SNConv2D;
  conv1!: SNConv2D;
  conv2!: SNConv2D;

  constructor(args: ResBlockDownArgs) {
    super({ name: args.name });
    this.filters = args.filters;
    this.kernelSize = args.kernelSize ?? 3;
    this.leakySlope = args.leakySlope;
    this.outputBias = args.outputBias ?? true;
    this.seed = args.seed;
  }

  override build(inputShape: Shape): void {
    const { filters, kernelSize, seed, outputBias: useBias } = this;
    this.skip = this.addChild(
      'skip',
      new SNConv2D({ filters, kernelSize: 1, useBias, seed: subSeed(seed, 0) }),
    );
    this.conv1 = this.addChild(
      'conv1',
      new SNConv2D({ filters, kernelSize, seed: subSeed(seed, 1) }),
    );
    this.conv2 = this.addChild(
      'conv2',
      new SNConv2D({ filters, kernelSize, useBias, seed: subSeed(seed, 2) }),
    );
    ModuleLayer.buildChild(this.skip, inputShape);
    ModuleLayer.buildChild(this.conv1, inputShape);
    ModuleLayer.buildChild(this.conv2, [...inputShape.slice(0, -1), filters]);
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: CallArgs): tf.Tensor {
    return tf.tidy(() => {
      const x = single(inputs) as tf.Tensor4D;
      const skip = avgPool2x(this.skip.call(x, kwargs) as tf.Tensor4D);
      let h: tf.Tensor = leakyRelu(x, this.leakySlope);
      h = leakyRelu(this.conv1.call(h, kwargs), this.leakySlope);
      h = avgPool2x(this.conv2.call(h, kwargs) as tf.Tensor4D);
      return tf.add(skip, h);
    });
  }

  override computeOutputShape(inputShape: Shape): Shape {
    const [b, h, w] = inputShape;
    return [b!, h! / 2, w! / 2, this.filters];
  }
}
