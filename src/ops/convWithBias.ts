import * as tf from '@tensorflow/tfjs';
import { referenceOps } from './opsMode';

/**
 * A stride-1 'same' conv plus its bias: as one FusedConv2D kernel (backends add the bias inside
 * the conv) whose gradient the tape asks for input by input, or the reference.
 *
 * tf.fused.conv2d's gradient is one customGrad that always computes dx, dfilter and dbias.
 * Where x needs no gradient, as in E's and D's first convs (their inputs are images), that dx is
 * a whole wasted Conv2DBackpropInput. Running the kernel directly lets the tape use the
 * per-input gradient registered here.
 */
export function convWithBias(x: tf.Tensor4D, filter: tf.Tensor4D, bias: tf.Tensor1D): tf.Tensor4D {
  if (referenceOps()) return referenceConvWithBias(x, filter, bias);
  registerFusedConvGradient();
  const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', dilations: 1, activation: 'linear' };
  return tf
    .engine()
    .runKernel(
      'FusedConv2D',
      { x, filter, bias },
      attrs as unknown as tf.NamedAttrMap,
    ) as tf.Tensor4D;
}

/** conv2d + bias as two tfjs ops, differentiated by tfjs. */
export function referenceConvWithBias(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  bias: tf.Tensor1D,
): tf.Tensor4D {
  return tf.tidy(() => tf.add(tf.conv2d(x, filter, 1, 'same'), bias));
}

/**
 * FusedConv2D's gradient for linear activations, one thunk per input. Only a FusedConv2D the
 * tape records itself uses it: tf.fused.conv2d runs the kernel inside its customGrad, where the
 * tape records nothing.
 */
function registerFusedConvGradient(): void {
  if (tf.getGradient('FusedConv2D') != null) return;
  tf.registerGradient({
    kernelName: 'FusedConv2D',
    inputsToSave: ['x', 'filter'],
    gradFunc: (dy, saved, attrs) => {
      const [x, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
      const a = attrs as unknown as tf.FusedConv2DAttrs;
      const dilated = [a.dilations ?? 1].flat().some((d) => d !== 1);
      if (a.activation !== 'linear' || a.dataFormat !== 'NHWC' || dilated)
        throw new Error(`FusedConv2D's gradient: only undilated, linear and NHWC convs`);
      const g = dy as tf.Tensor4D;
      return {
        x: () => tf.conv2dTranspose(g, filter, x.shape, a.strides, a.pad, a.dimRoundingMode),
        filter: () =>
          tf.engine().runKernel('Conv2DBackpropFilter', { x, dy: g }, {
            strides: a.strides,
            pad: a.pad,
            dataFormat: a.dataFormat,
            dimRoundingMode: a.dimRoundingMode,
            filterShape: filter.shape,
          } as unknown as tf.NamedAttrMap) as tf.Tensor,
        bias: () => tf.sum(g, [0, 1, 2]),
      };
    },
  });
}
