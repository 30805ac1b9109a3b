import * as tf from '@tensorflow/tfjs';
import {
  isTraining,
  ModuleLayer,
  single,
  type CallArgs,
  type LayerVariable,
  type Shape,
} from './moduleLayer';
import { SpectralNorm } from './spectralNorm';

export interface SNConv2DArgs {
  filters: number;
  kernelSize: number;
  /** Off for the few convs that must stay plain (none in the paper: all convs are normalised). */
  spectralNorm?: boolean;
  useBias?: boolean;
  seed?: number;
  name?: string;
}

/** Stride-1 'same' conv (zero padding k//2, as PyTorch's padding=k//2) with spectral norm. */
export class SNConv2D extends ModuleLayer {
  static readonly className = 'SNConv2D';
  readonly filters: number;
  readonly kernelSize: number;
  private readonly normalized: boolean;
  private readonly useBias: boolean;
  private readonly seed: number | undefined;
  private kernel!: LayerVariable;
  private bias: LayerVariable | undefined;
  private norm: SpectralNorm | undefined;

  constructor(args: SNConv2DArgs) {
    super({ name: args.name });
    if (args.kernelSize % 2 !== 1)
      throw new Error(`kernel size must be odd, got ${args.kernelSize}`);
    this.filters = args.filters;
    this.kernelSize = args.kernelSize;
    this.normalized = args.spectralNorm ?? true;
    this.useBias = args.useBias ?? true;
    this.seed = args.seed;
  }

  override build(inputShape: Shape): void {
    const inChannels = inputShape[inputShape.length - 1]!;
    const k = this.kernelSize;
    this.kernel = this.addNamedWeight(
      'kernel',
      [k, k, inChannels, this.filters],
      tf.initializers.glorotUniform({ seed: this.seed }),
    );
    if (this.useBias)
      this.bias = this.addNamedWeight('bias', [this.filters], tf.initializers.zeros());
    if (this.normalized) {
      const u = this.addNamedWeight('u', [this.filters], SpectralNorm.initialU(this.seed), false);
      this.norm = new SpectralNorm(this.kernel, u);
    }
    this.built = true;
  }

  /** The kernel the conv uses: spectrally normalised when enabled. */
  effectiveKernel(training = false): tf.Tensor4D {
    return (this.norm?.normalizedKernel(training) ?? this.kernel.read()) as tf.Tensor4D;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: CallArgs): tf.Tensor {
    return tf.tidy(() => {
      const x = single(inputs) as tf.Tensor4D;
      const y = tf.conv2d(x, this.effectiveKernel(isTraining(kwargs)), 1, 'same');
      return this.bias ? tf.add(y, this.bias.read()) : y;
    });
  }

  override computeOutputShape(inputShape: Shape): Shape {
    return [...inputShape.slice(0, -1), this.filters];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), filters: this.filters, kernelSize: this.kernelSize };
  }
}
