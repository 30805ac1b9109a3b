import * as tf from '@tensorflow/tfjs';
import { leakyReluGradient } from './leakyRelu';
import { referenceOps } from './opsMode';

/**
 * relu(conv2d(x, filter, stride 1, 'same') + bias) for a frozen filter and bias (L_CNT's VGGs):
 * the gradient reaches x only. Forward, one FusedConv2D with the bias and ReLU inside; backward,
 * dx = conv2dTranspose(dy · [y > 0], filter), read from the output alone. The unfused chain
 * runs an Add and a ReLU over every activation and keeps the pre-activation for ReLU's
 * gradient; here only y is kept, which the next layer's input is anyway.
 */
export function frozenConvRelu(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  bias: tf.Tensor1D,
): tf.Tensor4D {
  if (referenceOps()) return referenceFrozenConvRelu(x, filter, bias);
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, save] = args as [tf.Tensor4D, tf.GradSaveFunc];
    // The kernel itself: under a gradient tape tf.fused.conv2d unfuses any activation but linear.
    const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', dilations: 1, activation: 'relu' };
    const y = tf
      .engine()
      .runKernel(
        'FusedConv2D',
        { x: input, filter, bias },
        attrs as unknown as tf.NamedAttrMap,
      ) as tf.Tensor4D;
    save([y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.conv2dTranspose(
          leakyReluGradient(dy, saved[0]!, 0) as tf.Tensor4D,
          filter,
          input.shape,
          1,
          'same',
        ),
    };
  });
  return op(x) as tf.Tensor4D;
}

/** conv2d, bias and ReLU as three tfjs ops, differentiated by tfjs. */
export function referenceFrozenConvRelu(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  bias: tf.Tensor1D,
): tf.Tensor4D {
  return tf.tidy(() => tf.relu(tf.add(tf.conv2d(x, filter, 1, 'same'), bias)) as tf.Tensor4D);
}
