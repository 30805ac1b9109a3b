import * as tf from '@tensorflow/tfjs';
import { convWithBias } from '../../ops/convWithBias';
import type { Shape } from './moduleLayer';
import { SNKernelLayer, type SNKernelArgs } from './snKernelLayer';

export interface SNConv2DArgs extends SNKernelArgs {
  filters: number;
  kernelSize: number;
}

/** Stride-1 'same' conv (zero padding k//2, as PyTorch's padding=k//2) with spectral norm. */
export class SNConv2D extends SNKernelLayer {
  static readonly className = 'SNConv2D';
  readonly filters: number;
  readonly kernelSize: number;

  constructor(args: SNConv2DArgs) {
    super(args);
    if (args.kernelSize % 2 !== 1)
      throw new Error(`kernel size must be odd, got ${args.kernelSize}`);
    this.filters = args.filters;
    this.kernelSize = args.kernelSize;
  }

  protected kernelShape(inputShape: Shape): number[] {
    return [this.kernelSize, this.kernelSize, inputShape[inputShape.length - 1]!, this.filters];
  }

  protected op(x: tf.Tensor, kernel: tf.Tensor, bias?: tf.Tensor): tf.Tensor {
    const [x4, k4] = [x as tf.Tensor4D, kernel as tf.Tensor4D];
    return bias ? convWithBias(x4, k4, bias as tf.Tensor1D) : tf.conv2d(x4, k4, 1, 'same');
  }

  override computeOutputShape(inputShape: Shape): Shape {
    return [...inputShape.slice(0, -1), this.filters];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), filters: this.filters, kernelSize: this.kernelSize };
  }
}
