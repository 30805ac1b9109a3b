import * as tf from '@tensorflow/tfjs';
import { instanceStandardize } from './adain';
import { ModuleLayer, single, type LayerVariable, type Shape } from './moduleLayer';

/** Instance normalisation with a learned per-channel scale and shift (PyTorch affine=True). */
export class InstanceNorm extends ModuleLayer {
  static readonly className = 'InstanceNorm';
  gamma!: LayerVariable;
  beta!: LayerVariable;

  override build(inputShape: Shape): void {
    const channels = inputShape[inputShape.length - 1]!;
    this.gamma = this.addNamedWeight('gamma', [channels], tf.initializers.ones());
    this.beta = this.addNamedWeight('beta', [channels], tf.initializers.zeros());
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const normalized = instanceStandardize(single(inputs) as tf.Tensor4D);
      return tf.add(tf.mul(normalized, this.gamma.read()), this.beta.read());
    });
  }

  override computeOutputShape(inputShape: Shape): Shape {
    return inputShape;
  }
}
