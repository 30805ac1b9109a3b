import * as tf from '@tensorflow/tfjs';
import {
  isTraining,
  ModuleLayer,
  single,
  type CallArgs,
  type Initializer,
  type LayerVariable,
  type Shape,
} from './moduleLayer';
import { SpectralNorm } from './spectralNorm';

export interface SNDenseArgs {
  units: number;
  spectralNorm?: boolean;
  useBias?: boolean;
  /** Kernel initialiser; glorot-uniform by default. */
  kernelInitializer?: Initializer;
  seed?: number;
  name?: string;
}

/** A dense layer whose kernel can be spectrally normalised (the same wrapper as the convs). */
export class SNDense extends ModuleLayer {
  static readonly className = 'SNDense';
  readonly units: number;
  private readonly normalized: boolean;
  private readonly useBias: boolean;
  private readonly kernelInitializer: Initializer;
  private readonly seed: number | undefined;
  private kernel!: LayerVariable;
  private bias: LayerVariable | undefined;
  private norm: SpectralNorm | undefined;

  constructor(args: SNDenseArgs) {
    super({ name: args.name });
    this.units = args.units;
    this.normalized = args.spectralNorm ?? true;
    this.useBias = args.useBias ?? true;
    this.seed = args.seed;
    this.kernelInitializer =
      args.kernelInitializer ?? tf.initializers.glorotUniform({ seed: args.seed });
  }

  override build(inputShape: Shape): void {
    const inUnits = inputShape[inputShape.length - 1]!;
    this.kernel = this.addNamedWeight('kernel', [inUnits, this.units], this.kernelInitializer);
    if (this.useBias)
      this.bias = this.addNamedWeight('bias', [this.units], tf.initializers.zeros());
    if (this.normalized) {
      const u = this.addNamedWeight('u', [this.units], SpectralNorm.initialU(this.seed), false);
      this.norm = new SpectralNorm(this.kernel, u);
    }
    this.built = true;
  }

  effectiveKernel(training = false): tf.Tensor2D {
    return (this.norm?.normalizedKernel(training) ?? this.kernel.read()) as tf.Tensor2D;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: CallArgs): tf.Tensor {
    return tf.tidy(() => {
      const y = tf.matMul(single(inputs) as tf.Tensor2D, this.effectiveKernel(isTraining(kwargs)));
      return this.bias ? tf.add(y, this.bias.read()) : y;
    });
  }

  override computeOutputShape(inputShape: Shape): Shape {
    return [...inputShape.slice(0, -1), this.units];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), units: this.units };
  }
}
