import * as tf from '@tensorflow/tfjs';
import type { Pooling } from '../config';

/** Global pooling over the spatial axes of an NHWC tensor, to [batch, channels]. */
export function globalPool(x: tf.Tensor4D, mode: Pooling): tf.Tensor2D {
  switch (mode) {
    case 'sum':
      return tf.sum(x, [1, 2]);
    case 'max':
      return tf.max(x, [1, 2]);
    case 'avg':
      return tf.mean(x, [1, 2]);
  }
}
