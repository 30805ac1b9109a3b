import * as tf from '@tensorflow/tfjs';
import type { KernelArgs } from '../kernels/kernelCalls';
import { outputFromFloats, readFloats } from '../kernels/hostData';
import { filterGradientByTaps, tapGemmApplies } from './filterGradientTaps';
import type { NativeBackend } from './nativeBackend';
import {
  allFloat32,
  fusedEpilogue,
  geometryKey,
  keyOf,
  MIN_NATIVE_MACS,
  nativeKernel,
  onCpu,
} from './nativeKernelArgs';
import {
  type Epilogue,
  type OpGraph,
  backpropInputAsConv,
  pointwise,
  conv2dBackpropFilterGraph,
  conv2dBackpropInputGraph,
  conv2dGraph,
  depthwiseConv2dGraph,
} from './opGraphs';

type Shape4D = [number, number, number, number];
type ConvAttrs = Pick<tf.Conv2DAttrs, 'strides' | 'pad' | 'dataFormat' | 'dimRoundingMode'> & {
  dilations?: tf.Conv2DAttrs['dilations'];
};

/** The conv's geometry, or undefined where the cpu kernel should run it (NCHW). */
function convInfo(
  inShape: number[],
  filterShape: number[],
  attrs: ConvAttrs,
  depthwise = false,
): tf.backend_util.Conv2DInfo | undefined {
  if (tf.backend_util.convertConv2DDataFormat(attrs.dataFormat) !== 'channelsLast') return;
  return tf.backend_util.computeConv2DInfo(
    inShape as Shape4D,
    filterShape as Shape4D,
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
    depthwise,
    'channelsLast',
  );
}

function macs(info: tf.backend_util.Conv2DInfo, depthwise = false): number {
  return (
    info.batchSize *
    info.outHeight *
    info.outWidth *
    info.outChannels *
    (depthwise ? 1 : info.inChannels) *
    info.filterHeight *
    info.filterWidth
  );
}

function conv2d(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as NativeBackend;
  const { x, filter } = args.inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
  const attrs = args.attrs as unknown as tf.Conv2DAttrs;
  const info = convInfo(x.shape, filter.shape, attrs);
  if (!info || !allFloat32(x, filter) || macs(info) < MIN_NATIVE_MACS) return onCpu('Conv2D', args);
  return runConv(backend, 'Conv2D', info, x, filter);
}

/**
 * Runs a filter op's graph on onnxruntime: `lead` (x or dy), the filter, then `rest`. Where the
 * backend says to bake the filter (NativeBackend.shouldBake: a filter seen again by this kind of
 * kernel, as inference reuses every filter each frame, or a big enough conv), the session is
 * built with the filter's values inside it and kept until the filter goes.
 */
function runWithFilter(
  backend: NativeBackend,
  kind: string,
  key: string,
  filter: tf.TensorInfo,
  bakeable: boolean,
  work: number,
  build: (baked?: Float32Array) => OpGraph,
  lead: Float32Array,
  rest: Float32Array[] = [],
): Float32Array {
  if (bakeable && backend.shouldBake(kind, filter.dataId, work))
    return backend.ops.run(
      backend.bakedKey(filter.dataId, key),
      () => build(readFloats(backend, filter)),
      [lead, ...rest],
    );
  return backend.ops.run(key, () => build(), [lead, readFloats(backend, filter), ...rest]);
}

/** A conv (with a fused epilogue and its bias, if any) on onnxruntime. */
function runConv(
  backend: NativeBackend,
  kernelName: string,
  info: tf.backend_util.Conv2DInfo,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  fused?: Epilogue,
  bias?: tf.TensorInfo,
): tf.TensorInfo {
  const values = runWithFilter(
    backend,
    'forward',
    `${kernelName}${geometryKey(info)}${fused ? keyOf(fused) : ''}`,
    filter,
    true,
    macs(info),
    (baked) => conv2dGraph(info, fused, baked),
    readFloats(backend, x),
    bias ? [readFloats(backend, bias)] : [],
  );
  return outputFromFloats(backend, [...info.outShape], values);
}

/**
 * FusedConv2D and FusedDepthwiseConv2D: the conv, then its bias and activation in the same
 * graph. prelu, and activations ONNX lacks, go to the cpu kernel.
 */
function fusedConv(kernelName: string, depthwise: boolean) {
  return (args: KernelArgs): tf.TensorInfo => {
    const backend = args.backend as NativeBackend;
    const { x, filter, bias, preluActivationWeights } = args.inputs as {
      x: tf.TensorInfo;
      filter: tf.TensorInfo;
      bias?: tf.TensorInfo;
      preluActivationWeights?: tf.TensorInfo;
    };
    const attrs = args.attrs as unknown as tf.FusedConv2DAttrs;
    const info = convInfo(x.shape, filter.shape, attrs, depthwise);
    const fused = fusedEpilogue({ ...attrs, bias, preluActivationWeights });
    if (!info || !fused || !allFloat32(x, filter, bias) || macs(info, depthwise) < MIN_NATIVE_MACS)
      return onCpu(kernelName, args);
    if (!depthwise) return runConv(backend, kernelName, info, x, filter, fused, bias);
    const inputs = [readFloats(backend, x), readFloats(backend, filter)];
    if (bias) inputs.push(readFloats(backend, bias));
    const values = backend.ops.run(
      `${kernelName}${geometryKey(info)}${keyOf(fused)}`,
      () => depthwiseConv2dGraph(info, fused),
      inputs,
    );
    return outputFromFloats(backend, [...info.outShape], values);
  };
}

function depthwiseConv2d(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as NativeBackend;
  const { x, filter } = args.inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
  const attrs = args.attrs as unknown as tf.DepthwiseConv2dNativeAttrs;
  const info = convInfo(x.shape, filter.shape, attrs, true);
  if (!info || !allFloat32(x, filter) || macs(info, true) < MIN_NATIVE_MACS)
    return onCpu('DepthwiseConv2dNative', args);
  const values = backend.ops.run(
    `DepthwiseConv2dNative${geometryKey(info)}`,
    () => depthwiseConv2dGraph(info),
    [readFloats(backend, x), readFloats(backend, filter)],
  );
  return outputFromFloats(backend, [...info.outShape], values);
}

function conv2dBackpropInput(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as NativeBackend;
  const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const attrs = args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
  const info = convInfo(attrs.inputShape, filter.shape, attrs);
  if (!info || !allFloat32(dy, filter) || macs(info) < MIN_NATIVE_MACS)
    return onCpu('Conv2DBackpropInput', args);
  const values = runWithFilter(
    backend,
    'backpropInput',
    `Conv2DBackpropInput${geometryKey(info)}`,
    filter,
    backpropInputAsConv(info),
    macs(info),
    (baked) => conv2dBackpropInputGraph(info, baked),
    readFloats(backend, dy),
  );
  return outputFromFloats(backend, [...info.inShape], values);
}

/**
 * Samples per filter-gradient run: its patch matrix ([N·oh·ow, kh·kw·C] floats) kept within
 * `budgetBytes`. One run over a whole K = 8 batch at 128x128x128 would make a 604 MB matrix,
 * which runs far slower than smaller runs.
 */
export function filterGradientChunk(info: tf.backend_util.Conv2DInfo, budgetBytes: number): number {
  const perSample =
    info.outHeight * info.outWidth * info.filterHeight * info.filterWidth * info.inChannels * 4;
  return Math.max(1, Math.min(info.batchSize, Math.floor(budgetBytes / perSample)));
}

function conv2dBackpropFilter(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as NativeBackend;
  const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const attrs = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  const info = convInfo(x.shape, attrs.filterShape, attrs);
  if (!info || !allFloat32(x, dy) || macs(info) < MIN_NATIVE_MACS)
    return onCpu('Conv2DBackpropFilter', args);
  const xs = readFloats(backend, x);
  const dys = readFloats(backend, dy);
  if (tapGemmApplies(info) && !pointwise(info)) {
    const values = filterGradientByTaps(
      backend.ops,
      backend.pool,
      info,
      xs,
      dys,
      backend.filterGradientBlockBytes,
    );
    return outputFromFloats(backend, [...info.filterShape], values);
  }
  // Strided convs (and 1x1s, a MatMul of x itself): a patch GEMM or a transposed conv.
  const chunk = filterGradientChunk(info, backend.filterGradientPatchBytes);
  const xSize = xs.length / info.batchSize;
  const dySize = dys.length / info.batchSize;
  const run = (n: number, from: number) => {
    const part =
      n === info.batchSize ? info : convInfo([n, ...x.shape.slice(1)], attrs.filterShape, attrs)!;
    return backend.ops.run(
      `Conv2DBackpropFilter${geometryKey(part)}`,
      () => conv2dBackpropFilterGraph(part),
      [
        xs.subarray(from * xSize, (from + n) * xSize),
        dys.subarray(from * dySize, (from + n) * dySize),
      ],
    );
  };
  // The gradient is a sum over samples: chunks of the batch, each from views of x and dy.
  const values = run(Math.min(chunk, info.batchSize), 0);
  for (let from = chunk; from < info.batchSize; from += chunk) {
    const part = run(Math.min(chunk, info.batchSize - from), from);
    for (let i = 0; i < values.length; i++) values[i]! += part[i]!;
    backend.pool.give(part);
  }
  return outputFromFloats(backend, [...info.filterShape], values);
}

export const CONV_KERNELS: readonly tf.KernelConfig[] = [
  nativeKernel('Conv2D', conv2d),
  nativeKernel('FusedConv2D', fusedConv('FusedConv2D', false)),
  nativeKernel('DepthwiseConv2dNative', depthwiseConv2d),
  nativeKernel('FusedDepthwiseConv2D', fusedConv('FusedDepthwiseConv2D', true)),
  nativeKernel('Conv2DBackpropInput', conv2dBackpropInput),
  nativeKernel('Conv2DBackpropFilter', conv2dBackpropFilter),
];
