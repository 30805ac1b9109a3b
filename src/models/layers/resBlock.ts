import * as tf from '@tensorflow/tfjs';
import { adaptiveInstanceNorm } from './adain';
import { ModuleLayer, type CallArgs, type Shape, subSeed } from './moduleLayer';
import { SNConv2D } from './snConv2d';
import { leakyRelu } from '../../ops/leakyRelu';

/**
 * Splits psi [batch, 2*sum(channels)] into (mean, std) pairs of the given channel counts. The std
 * entries of psi are offsets from 1 (std = 1 + psi_std): P starts near zero (N(0, 0.02)), and a
 * raw psi_std of ~0.1 at each of the generator's AdaIN stages would shrink its signal by ~1e-9,
 * so it would start, and stay, a constant grey image.
 */
export function splitAdainParams(
  psi: tf.Tensor2D,
  channels: number[],
): [tf.Tensor2D, tf.Tensor2D][] {
  const sizes = channels.flatMap((c) => [c, c]);
  const parts = tf.split(psi, sizes, 1) as tf.Tensor2D[];
  return channels.map((_, i) => [parts[2 * i]!, tf.add(parts[2 * i + 1]!, 1) as tf.Tensor2D]);
}

/**
 * Generator bottleneck block: AdaIN, lrelu, conv3x3, AdaIN, lrelu, conv3x3, plus identity.
 * Inputs [x, psi] with psi = [mean1, std1, mean2, std2], each of x's channel count.
 */
export class ResBlock extends ModuleLayer {
  static readonly className = 'ResBlock';
  readonly leakySlope: number;
  private readonly seed: number | undefined;
  /** The convs, read by the ONNX export. */
  conv1!: SNConv2D;
  conv2!: SNConv2D;

  constructor(args: { leakySlope: number; seed?: number; name?: string }) {
    super({ name: args.name });
    this.leakySlope = args.leakySlope;
    this.seed = args.seed;
  }

  /** Length of the psi slice this block takes for `channels` channels. */
  static adainParamCount(channels: number): number {
    return 4 * channels;
  }

  override build(inputShape: Shape | Shape[]): void {
    const xShape = (inputShape as Shape[])[0]!;
    const filters = xShape[xShape.length - 1]!;
    // conv1 feeds AdaIN, which removes any per-channel constant: a bias would get no gradient.
    this.conv1 = this.addChild(
      'conv1',
      new SNConv2D({ filters, kernelSize: 3, useBias: false, seed: subSeed(this.seed, 0) }),
    );
    this.conv2 = this.addChild(
      'conv2',
      new SNConv2D({ filters, kernelSize: 3, seed: subSeed(this.seed, 1) }),
    );
    ModuleLayer.buildChild(this.conv1, xShape);
    ModuleLayer.buildChild(this.conv2, xShape);
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: CallArgs): tf.Tensor {
    return tf.tidy(() => {
      const [x, psi] = inputs as [tf.Tensor4D, tf.Tensor2D];
      const c = x.shape[3];
      const [[m1, s1], [m2, s2]] = splitAdainParams(psi, [c, c]);
      let h = leakyRelu(adaptiveInstanceNorm(x, m1!, s1!), this.leakySlope);
      h = this.conv1.call(h, kwargs) as tf.Tensor4D;
      h = leakyRelu(adaptiveInstanceNorm(h as tf.Tensor4D, m2!, s2!), this.leakySlope);
      return tf.add(this.conv2.call(h, kwargs), x);
    });
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return (inputShape as Shape[])[0]!;
  }
}
