import type * as tf from '@tensorflow/tfjs';

/**
 * A frozen feature network for the content loss. Its weights are plain tensors, not variables,
 * so no optimizer can update them and autodiff never computes their gradients (only the input
 * gradient flows through).
 */
export interface FeatureBackbone {
  /** 'vgg19', 'vggface' or 'faceapi'. */
  readonly name: string;
  /** Every layer `features` can return, in forward order. */
  readonly layerNames: readonly string[];
  /**
   * Activations at `layers` (a subset of layerNames, any order; returned in that order) for RGB
   * images in [0, 1], NHWC. The backbone applies its own input normalisation and resizing.
   */
  features(images: tf.Tensor4D, layers: readonly string[]): tf.Tensor4D[];
  dispose(): void;
}
