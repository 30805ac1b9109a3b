import * as tf from '@tensorflow/tfjs';

type TensorInfo = tf.TensorInfo;
type NamedAttrMap = tf.NamedAttrMap;

/**
 * A backend seen from inside one of its kernels, with its tfjs name, so that kernels composed of
 * other kernels (the way tfjs backends compose theirs) can look those up.
 */
export interface KernelScope {
  backend: tf.KernelBackend;
  backendName: string;
}

/** The arguments tfjs passes to a kernel function. */
export interface KernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: NamedAttrMap;
}

/** Runs another kernel of the same backend; the bare TensorInfo must be disposed or returned. */
export function callKernel(
  scope: KernelScope,
  name: string,
  inputs: Record<string, TensorInfo>,
  attrs: NamedAttrMap,
): TensorInfo {
  const kernel = tf.getKernel(name, scope.backendName);
  if (kernel == null) throw new Error(`${scope.backendName} kernel ${name} is not registered`);
  return kernel.kernelFunc({ inputs, attrs, backend: scope.backend }) as TensorInfo;
}

export function disposeInfo(scope: KernelScope, ...infos: TensorInfo[]): void {
  for (const info of infos) scope.backend.disposeData(info.dataId);
}

export function transposeInfo(scope: KernelScope, x: TensorInfo, perm: number[]): TensorInfo {
  return callKernel(scope, 'Transpose', { x }, { perm });
}

/** Per-side zero padding of the two spatial axes of an NHWC tensor; may be negative. */
export interface SpatialPads {
  top: number;
  bottom: number;
  left: number;
  right: number;
}

/**
 * Forward NHWC convolution, stride 1, with explicit per-side padding that may be negative.
 * Conv2D kernels take only non-negative padding, so the rows and columns that a negative pad
 * cuts are sliced off first.
 */
export function conv2dPadded(
  scope: KernelScope,
  x: TensorInfo,
  filter: TensorInfo,
  pads: SpatialPads,
  dilations: [number, number],
): TensorInfo {
  const [b, h, w, c] = x.shape as [number, number, number, number];
  const cut = {
    top: Math.max(0, -pads.top),
    bottom: Math.max(0, -pads.bottom),
    left: Math.max(0, -pads.left),
    right: Math.max(0, -pads.right),
  };
  let input = x;
  if (cut.top + cut.bottom + cut.left + cut.right > 0) {
    const begin = [0, cut.top, cut.left, 0];
    const size = [b, h - cut.top - cut.bottom, w - cut.left - cut.right, c];
    input = callKernel(scope, 'Slice', { x }, { begin, size });
  }
  const pad = [
    [0, 0],
    [Math.max(0, pads.top), Math.max(0, pads.bottom)],
    [Math.max(0, pads.left), Math.max(0, pads.right)],
    [0, 0],
  ];
  const attrs = { strides: [1, 1], pad, dataFormat: 'NHWC', dilations };
  const out = callKernel(scope, 'Conv2D', { x: input, filter }, attrs as unknown as NamedAttrMap);
  if (input !== x) disposeInfo(scope, input);
  return out;
}

type Shape4D = [number, number, number, number];

/** Geometry of the forward conv whose gradient a backprop kernel computes; NHWC only. */
export function forwardConvInfo(
  kernelName: string,
  scope: KernelScope,
  inputShape: Shape4D,
  filterShape: Shape4D,
  attrs: Pick<tf.Conv2DBackpropFilterAttrs, 'strides' | 'pad' | 'dataFormat' | 'dimRoundingMode'>,
): tf.backend_util.Conv2DInfo {
  if (tf.backend_util.convertConv2DDataFormat(attrs.dataFormat) !== 'channelsLast') {
    throw new Error(`${kernelName} on ${scope.backendName} supports NHWC only`);
  }
  return tf.backend_util.computeConv2DInfo(
    inputShape,
    filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
}
