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

export interface SNKernelArgs {
  /** Off for the few kernels that must stay plain (the generator's projection P). */
  spectralNorm?: boolean;
  useBias?: boolean;
  /** Kernel initialiser; glorot-uniform by default. */
  kernelInitializer?: Initializer;
  seed?: number;
  name?: string;
}

/**
 * A layer computing op(x, W) + b whose kernel W is spectrally normalised: the shared part of
 * the conv and dense layers (weights, the u vector, the normalised kernel, the bias).
 */
export abstract class SNKernelLayer extends ModuleLayer {
  private readonly normalized: boolean;
  private readonly useBias: boolean;
  private readonly kernelInitializer: Initializer;
  private readonly seed: number | undefined;
  private kernel!: LayerVariable;
  private bias: LayerVariable | undefined;
  private norm: SpectralNorm | undefined;

  constructor(args: SNKernelArgs) {
    super({ name: args.name });
    this.normalized = args.spectralNorm ?? true;
    this.useBias = args.useBias ?? true;
    this.seed = args.seed;
    this.kernelInitializer =
      args.kernelInitializer ?? tf.initializers.glorotUniform({ seed: args.seed });
  }

  /** The kernel's shape for an input shape; its last axis is the output channels. */
  protected abstract kernelShape(inputShape: Shape): number[];

  /**
   * The linear map, plus the bias where given: as one fused op, so that backends add it inside
   * the conv or matmul (native: a Conv's bias input) instead of in another tensor-sized pass.
   */
  protected abstract op(x: tf.Tensor, kernel: tf.Tensor, bias?: tf.Tensor): tf.Tensor;

  override build(inputShape: Shape): void {
    const shape = this.kernelShape(inputShape);
    const out = shape[shape.length - 1]!;
    this.kernel = this.addNamedWeight('kernel', shape, this.kernelInitializer);
    if (this.useBias) this.bias = this.addNamedWeight('bias', [out], tf.initializers.zeros());
    if (this.normalized) {
      const u = this.addNamedWeight('u', [out], SpectralNorm.initialU(this.seed), false);
      this.norm = new SpectralNorm(this.kernel, u);
    }
    this.built = true;
  }

  override dispose(): { refCountAfterDispose: number; numDisposedVariables: number } {
    this.norm?.dispose();
    return super.dispose();
  }

  /** The bias weight, if the layer has one. */
  get biasWeight(): LayerVariable | undefined {
    return this.bias;
  }

  /** The kernel the layer uses: spectrally normalised when enabled. */
  effectiveKernel(training = false): tf.Tensor {
    return this.norm?.normalizedKernel(training) ?? this.kernel.read();
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: CallArgs): tf.Tensor {
    return tf.tidy(() => {
      return this.op(single(inputs), this.effectiveKernel(isTraining(kwargs)), this.bias?.read());
    });
  }
}
