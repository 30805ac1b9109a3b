import * as tf from '@tensorflow/tfjs';

type Pad = 'same' | 'valid' | tf.backend_util.ExplicitPadding;

/** The conv weight gradient as an op: tfjs runs this kernel in autodiff but exports no op for it. */
export function conv2dBackpropFilter(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: [number, number, number, number],
  stride: number,
  pad: Pad,
): tf.Tensor4D {
  const attrs = { strides: [stride, stride], pad, dataFormat: 'NHWC', filterShape };
  return tf
    .engine()
    .runKernel(
      'Conv2DBackpropFilter',
      { x, dy },
      attrs as unknown as tf.NamedAttrMap,
    ) as tf.Tensor4D;
}

/** The conv input gradient as an op (what tf.conv2dTranspose runs), with explicit padding too. */
export function conv2dBackpropInput(
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  inputShape: [number, number, number, number],
  stride: number,
  pad: Pad,
): tf.Tensor4D {
  const attrs = { strides: [stride, stride], pad, dataFormat: 'NHWC', inputShape };
  return tf
    .engine()
    .runKernel(
      'Conv2DBackpropInput',
      { dy, filter },
      attrs as unknown as tf.NamedAttrMap,
    ) as tf.Tensor4D;
}
