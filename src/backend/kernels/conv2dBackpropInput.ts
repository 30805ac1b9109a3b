import * as tf from '@tensorflow/tfjs';
import { outputFromFloats, readFloats } from './hostData';
import {
  callKernel,
  conv2dPadded,
  disposeInfo,
  forwardConvInfo,
  type KernelArgs,
  type KernelScope,
} from './kernelCalls';

/**
 * W[kh,kw,ci,co] -> W[KH-1-kh, KW-1-kw, co, ci], on the host: the filter is small next to the
 * activations, and the wasm Reverse kernel can take longer than the convolution itself.
 */
function flippedSwappedKernel(backend: tf.KernelBackend, filter: tf.TensorInfo): tf.TensorInfo {
  const [kh, kw, ci, co] = filter.shape as [number, number, number, number];
  const w = readFloats(backend, filter);
  const out = new Float32Array(w.length);
  for (let h = 0; h < kh; h++)
    for (let x = 0; x < kw; x++) {
      const src = (h * kw + x) * ci * co;
      const dst = ((kh - 1 - h) * kw + (kw - 1 - x)) * co * ci;
      for (let i = 0; i < ci; i++)
        for (let o = 0; o < co; o++) out[dst + o * ci + i] = w[src + i * co + o]!;
    }
  return outputFromFloats(backend, [kh, kw, co, ci], out);
}

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

    const kernel = flippedSwappedKernel(scope.backend, filter);
    const up = zeroUpsample(scope, dy, sh, sw);
    const dx = conv2dPadded(scope, up, kernel, pads, [1, 1]);
    if (up !== dy) disposeInfo(scope, up);
    disposeInfo(scope, kernel);
    return dx;
  };
}
