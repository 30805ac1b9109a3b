import * as tf from '@tensorflow/tfjs';
import {
  callKernel,
  conv2dPadded,
  disposeInfo,
  forwardConvInfo,
  transposeInfo,
  type KernelArgs,
  type KernelScope,
} from './kernelCalls';

/** Puts stride-1 zeros after every spatial sample of an NHWC tensor (trailing zeros kept). */
function zeroUpsample(
  scope: KernelScope,
  dy: tf.TensorInfo,
  sh: number,
  sw: number,
): tf.TensorInfo {
  if (sh === 1 && sw === 1) return dy;
  const [b, oh, ow, c] = dy.shape as [number, number, number, number];
  const spread = callKernel(scope, 'Reshape', { x: dy }, { shape: [b, oh, 1, ow, 1, c] });
  const paddings = [
    [0, 0],
    [0, 0],
    [0, sh - 1],
    [0, 0],
    [0, sw - 1],
    [0, 0],
  ];
  const padded = callKernel(scope, 'PadV2', { x: spread }, { paddings, constantValue: 0 });
  disposeInfo(scope, spread);
  const out = callKernel(scope, 'Reshape', { x: padded }, { shape: [b, oh * sh, ow * sw, c] });
  disposeInfo(scope, padded);
  return out;
}

/**
 * dx for an NHWC conv as one forward convolution: the full correlation of the zero-upsampled
 * dy with the spatially flipped filter, its in and out channels swapped.
 *   dx[b,h,w,ci] = sum_{kh,kw,co} dy[b,(h+pt-kh)/s,(w+pl-kw)/s,co] * W[kh,kw,ci,co]
 */
export function conv2dBackpropInputViaConv(backendName: string) {
  return (args: KernelArgs): tf.TensorInfo => {
    const scope: KernelScope = { backend: args.backend as tf.KernelBackend, backendName };
    const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
    const attrs = args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
    const info = forwardConvInfo(
      'Conv2DBackpropInput',
      scope,
      attrs.inputShape,
      filter.shape as [number, number, number, number],
      attrs,
    );
    const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
    const { inHeight: h, inWidth: w, outHeight: oh, outWidth: ow, padInfo } = info;
    // The upsampled dy has oh*sh rows; the far padding makes exactly h rows come out.
    const top = kh - 1 - padInfo.top;
    const left = kw - 1 - padInfo.left;
    const pads = {
      top,
      left,
      bottom: h + kh - 1 - oh * sh - top,
      right: w + kw - 1 - ow * sw - left,
    };

    const flipped = callKernel(scope, 'Reverse', { x: filter }, { dims: [0, 1] });
    const kernel = transposeInfo(scope, flipped, [0, 1, 3, 2]);
    disposeInfo(scope, flipped);
    const up = zeroUpsample(scope, dy, sh, sw);
    const dx = conv2dPadded(scope, up, kernel, pads, [1, 1]);
    if (up !== dy) disposeInfo(scope, up);
    disposeInfo(scope, kernel);
    return dx;
  };
}
