import * as tf from '@tensorflow/tfjs';
import type { Shape } from './moduleLayer';
import { SNKernelLayer, type SNKernelArgs } from './snKernelLayer';

export interface SNDenseArgs extends SNKernelArgs {
  units: number;
}

/** A dense layer whose kernel can be spectrally normalised (the same wrapper as the convs). */
export class SNDense extends SNKernelLayer {
  static readonly className = 'SNDense';
  readonly units: number;

  constructor(args: SNDenseArgs) {
    super(args);
    this.units = args.units;
  }

  protected kernelShape(inputShape: Shape): number[] {
    return [inputShape[inputShape.length - 1]!, this.units];
  }

  protected op(x: tf.Tensor, kernel: tf.Tensor, bias?: tf.Tensor): tf.Tensor {
    return tf.fused.matMul({ a: x as tf.Tensor2D, b: kernel as tf.Tensor2D, bias });
  }

  override computeOutputShape(inputShape: Shape): Shape {
    return [...inputShape.slice(0, -1), this.units];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), units: this.units };
  }
}
