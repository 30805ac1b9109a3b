import * as tf from '@tensorflow/tfjs';
import {
  conv2dPadded,
  disposeInfo,
  forwardConvInfo,
  transposeInfo,
  type KernelArgs,
  type KernelScope,
} from './kernelCalls';

/**
 * dW for an NHWC conv, computed as one forward convolution so it runs on the backend's fast
 * Conv2D (XNNPACK on wasm):
 *   dW[kh,kw,ci,co] = sum_{b,oh,ow} x[b, oh*s+kh-pt, ow*s+kw-pl, ci] * dy[b,oh,ow,co]
 * is a stride-1 conv of x^T (batch = ci, channels = b) with the kernel dy^T
 * (taps = oh,ow; in = b; out = co) dilated by the forward stride. Its output is [ci,kh,kw,co].
 */
export function conv2dBackpropFilterViaConv(backendName: string) {
  return (args: KernelArgs): tf.TensorInfo => {
    const scope: KernelScope = { backend: args.backend as tf.KernelBackend, backendName };
    const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
    const attrs = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
    const info = forwardConvInfo(
      'Conv2DBackpropFilter',
      scope,
      x.shape as [number, number, number, number],
      attrs.filterShape,
      attrs,
    );
    const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
    const { inHeight: h, inWidth: w, outHeight: oh, outWidth: ow, padInfo } = info;
    // The far-side padding makes the output exactly kh x kw; negative cuts unused rows.
    const pads = {
      top: padInfo.top,
      left: padInfo.left,
      bottom: kh + (oh - 1) * sh - h - padInfo.top,
      right: kw + (ow - 1) * sw - w - padInfo.left,
    };
    const xT = transposeInfo(scope, x, [3, 1, 2, 0]);
    const dyT = transposeInfo(scope, dy, [1, 2, 0, 3]);
    const dwT = conv2dPadded(scope, xT, dyT, pads, [sh, sw]);
    disposeInfo(scope, xT, dyT);
    const dw = transposeInfo(scope, dwT, [1, 2, 0, 3]);
    disposeInfo(scope, dwT);
    return dw;
  };
}
