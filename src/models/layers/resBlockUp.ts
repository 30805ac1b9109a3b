import * as tf from '@tensorflow/tfjs';
import { adaptiveInstanceNorm } from './adain';
import { ModuleLayer, type CallArgs, type Shape, subSeed } from './moduleLayer';
import { splitAdainParams } from './resBlock';
import { upsample2x, type UpsamplingMode } from './resampling';
import { SNConv2D } from './snConv2d';
import { leakyRelu } from '../../ops/leakyRelu';

export interface ResBlockUpArgs {
  filters: number;
  leakySlope: number;
  upsampling: UpsamplingMode;
  seed?: number;
  name?: string;
}

/**
 * Upsampling residual block:
 *   skip = conv1x1(up(x)); main = conv3(lrelu(AdaIN(conv3(up(lrelu(AdaIN(x))))))).
 * Inputs [x, psi] with psi = [mean1, std1] over x's channels, then [mean2, std2] over filters.
 */
export class ResBlockUp extends ModuleLayer {
  static readonly className = 'ResBlockUp';
  readonly filters: number;
  readonly leakySlope: number;
  readonly upsampling: UpsamplingMode;
  private readonly seed: number | undefined;
  /** The convs, read by the ONNX export. */
  skip!: SNConv2D;
  conv1!: SNConv2D;
  conv2!: SNConv2D;

  constructor(args: ResBlockUpArgs) {
    super({ name: args.name });
    this.filters = args.filters;
    this.leakySlope = args.leakySlope;
    this.upsampling = args.upsampling;
    this.seed = args.seed;
  }

  static adainParamCount(inChannels: number, filters: number): number {
    return 2 * (inChannels + filters);
  }

  override build(inputShape: Shape | Shape[]): void {
    const xShape = (inputShape as Shape[])[0]!;
    const [b, h, w] = xShape;
    const up: Shape = [b!, h! * 2, w! * 2, xShape[3]!];
    const { filters } = this;
    this.skip = this.addChild(
      'skip',
      new SNConv2D({ filters, kernelSize: 1, seed: subSeed(this.seed, 0) }),
    );
    // conv1 feeds AdaIN, which removes any per-channel constant: a bias would get no gradient.
    this.conv1 = this.addChild(
      'conv1',
      new SNConv2D({ filters, kernelSize: 3, useBias: false, seed: subSeed(this.seed, 1) }),
    );
    this.conv2 = this.addChild(
      'conv2',
      new SNConv2D({ filters, kernelSize: 3, seed: subSeed(this.seed, 2) }),
    );
    ModuleLayer.buildChild(this.skip, up);
    ModuleLayer.buildChild(this.conv1, up);
    ModuleLayer.buildChild(this.conv2, [...up.slice(0, -1), filters]);
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: CallArgs): tf.Tensor {
    return tf.tidy(() => {
      const [x, psi] = inputs as [tf.Tensor4D, tf.Tensor2D];
      const [[m1, s1], [m2, s2]] = splitAdainParams(psi, [x.shape[3], this.filters]);
      const skip = this.skip.call(upsample2x(x, this.upsampling), kwargs);
      let h = leakyRelu(adaptiveInstanceNorm(x, m1!, s1!), this.leakySlope);
      h = this.conv1.call(upsample2x(h, this.upsampling), kwargs) as tf.Tensor4D;
      h = leakyRelu(adaptiveInstanceNorm(h, m2!, s2!), this.leakySlope);
      return tf.add(skip, this.conv2.call(h, kwargs));
    });
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const [b, h, w] = (inputShape as Shape[])[0]!;
    return [b!, h! * 2, w! * 2, this.filters];
  }
}
