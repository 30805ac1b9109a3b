import * as tf from '@tensorflow/tfjs';
import { onnx } from 'onnx-proto';
import { OnnxGraphBuilder } from '../../formats/onnxGraph';

/**
 * One tfjs kernel call as a small ONNX graph, at fixed shapes: tfjs's NHWC tensors in and out,
 * the layout changes done inside the graph (onnxruntime's convolutions are NCHW, and its graph
 * optimiser then moves them to its own blocked layout).
 */
export interface OpGraph {
  /** The encoded ModelProto. */
  bytes: Uint8Array;
  inputs: { name: string; shape: number[] }[];
  output: { name: string; shape: number[] };
}

/** Activations tfjs's fused kernels apply, those run inside the graph. */
export type FusedActivation = 'linear' | 'relu' | 'relu6' | 'elu' | 'leakyrelu' | 'sigmoid';
export const GRAPH_ACTIVATIONS: readonly string[] = [
  'linear',
  'relu',
  'relu6',
  'elu',
  'leakyrelu',
  'sigmoid',
];

export interface Epilogue {
  /** A bias added after the op, broadcast against its NHWC (or [.., m, n]) output. */
  biasShape?: number[];
  activation: FusedActivation;
  leakyreluAlpha?: number;
}

const NHWC_TO_NCHW = [0, 3, 1, 2];
const NCHW_TO_NHWC = [0, 2, 3, 1];
/** HWIO (tfjs's filter layout) to OIHW (ONNX Conv's). */
const HWIO_TO_OIHW = [3, 2, 0, 1];

function finish(
  b: OnnxGraphBuilder,
  inputs: OpGraph['inputs'],
  value: string,
  shape: number[],
): OpGraph {
  b.output(value, { name: 'y', shape, doc: '' });
  const model = b.model({ graphName: 'op', doc: '', metadata: {}, producerVersion: '' });
  return { bytes: onnx.ModelProto.encode(model).finish(), inputs, output: { name: 'y', shape } };
}

function declare(b: OnnxGraphBuilder, inputs: OpGraph['inputs']): string[] {
  return inputs.map((io) => b.input({ name: io.name, shape: io.shape, doc: '' }));
}

/** Adds the bias and the activation of a fused kernel. */
function epilogue(b: OnnxGraphBuilder, value: string, e: Epilogue): string {
  let v = value;
  if (e.biasShape) v = b.node('Add', [v, 'bias']);
  switch (e.activation) {
    case 'linear':
      return v;
    case 'relu':
      return b.node('Relu', [v]);
    case 'relu6':
      return b.node('Clip', [v, b.constant('zero', [0], []), b.constant('six', [6], [])]);
    case 'elu':
      return b.node('Elu', [v], { alpha: { float: 1 } });
    case 'leakyrelu':
      return b.node('LeakyRelu', [v], { alpha: { float: e.leakyreluAlpha ?? 0.2 } });
    case 'sigmoid':
      return b.node('Sigmoid', [v]);
  }
}

function withBias(inputs: OpGraph['inputs'], e?: Epilogue): OpGraph['inputs'] {
  return e?.biasShape ? [...inputs, { name: 'bias', shape: e.biasShape }] : inputs;
}

/** ONNX pads [top, left, bottom, right] from tfjs's conv geometry. */
function padsOf(info: tf.backend_util.Conv2DInfo): number[] {
  const p = info.padInfo;
  return [p.top, p.left, p.bottom, p.right];
}

/**
 * A conv's input patches as one matrix, NHWC throughout: the padded input's kh·kw strided
 * slices concatenated on the channel axis, reshaped to [N·oh·ow, kh·kw·C] (row-major (i, j, c),
 * the order of an HWIO filter's rows).
 */
function patchRows(
  b: OnnxGraphBuilder,
  x: string,
  info: tf.backend_util.Conv2DInfo,
  pads: { top: number; left: number; bottom: number; right: number },
): string {
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const { dilationHeight: dh, dilationWidth: dw } = info;
  const { batchSize: n, outHeight: oh, outWidth: ow } = info;
  const c = info.inShape[3];
  const unpadded = pads.top === 0 && pads.left === 0 && pads.bottom === 0 && pads.right === 0;
  if (pointwise(info) && unpadded)
    return b.node('Reshape', [x, b.int64s('rows_shape', [n * oh * ow, c])]);
  const padded = b.node('Pad', [
    x,
    b.int64s('pads', [0, pads.top, pads.left, 0, 0, pads.bottom, pads.right, 0]),
  ]);
  const patches: string[] = [];
  for (let i = 0; i < kh; i++)
    for (let j = 0; j < kw; j++)
      patches.push(
        b.node('Slice', [
          padded,
          b.int64s(`starts_${i}_${j}`, [i * dh, j * dw]),
          b.int64s(`ends_${i}_${j}`, [i * dh + sh * (oh - 1) + 1, j * dw + sw * (ow - 1) + 1]),
          b.int64s('axes', [1, 2]),
          b.int64s('steps', [sh, sw]),
        ]),
      );
  return b.node('Reshape', [
    patches.length === 1 ? patches[0]! : b.node('Concat', patches, { axis: 3 }),
    b.int64s('rows_shape', [n * oh * ow, kh * kw * c]),
  ]);
}

/** The conv as one GEMM, its patch rows times the filter as a [kh·kw·C, O] matrix. */
function patchGemm(
  b: OnnxGraphBuilder,
  x: string,
  matrix: string,
  info: tf.backend_util.Conv2DInfo,
  pads: { top: number; left: number; bottom: number; right: number },
  outChannels: number,
): string {
  const { batchSize: n, outHeight: oh, outWidth: ow } = info;
  return b.node('Reshape', [
    b.node('MatMul', [patchRows(b, x, info, pads), matrix]),
    b.int64s('out_shape', [n, oh, ow, outChannels]),
  ]);
}

/**
 * Whether a conv runs as a patch GEMM rather than onnxruntime's Conv: where the output is small
 * next to the weights (G's 16x16 and 32x32 layers with 512 channels). There the Conv spends its
 * time laying out the 2.4M-weight filter each call, and the patches are small.
 */
export function convAsPatchGemm(info: tf.backend_util.Conv2DInfo): boolean {
  const positions = info.batchSize * info.outHeight * info.outWidth;
  return (
    pointwise(info) ||
    (positions <= 2 * info.outChannels && info.filterHeight * info.filterWidth > 1)
  );
}

/**
 * A 1x1, stride-1, unpadded conv: its patch rows are x itself, so as a MatMul it needs no copy
 * at all, where the Conv transposes x and its output; so too its filter gradient. (With the
 * filter baked, the blocked Conv is faster still.)
 */
export function pointwise(info: tf.backend_util.Conv2DInfo): boolean {
  const p = info.padInfo;
  return (
    info.filterHeight === 1 &&
    info.filterWidth === 1 &&
    info.strideHeight === 1 &&
    info.strideWidth === 1 &&
    p.top === 0 &&
    p.bottom === 0 &&
    p.left === 0 &&
    p.right === 0
  );
}

/**
 * A conv graph's builder with x, filter and the fused bias (if any) declared; a baked filter is
 * an initializer instead of an input.
 */
function convInputs(info: tf.backend_util.Conv2DInfo, fused?: Epilogue, baked?: Float32Array) {
  const b = new OnnxGraphBuilder();
  const inputs = withBias(
    [
      { name: 'x', shape: [...info.inShape] },
      ...(baked ? [] : [{ name: 'filter', shape: [...info.filterShape] }]),
    ],
    fused,
  );
  const [x, declared] = declare(b, inputs) as [string, string];
  const filter = baked ? b.weight('filter', baked, [...info.filterShape]) : declared;
  return { b, inputs, x, filter };
}

/**
 * Conv2D (and FusedConv2D with its epilogue): x NHWC, filter HWIO -> NHWC. With `baked`, the
 * filter's values are part of the graph: onnxruntime then reorders it once into its blocked
 * NCHWc layout, and folds the layout transposes into that conv's own reorders; for a filter
 * used again and again, as at inference.
 */
export function conv2dGraph(
  info: tf.backend_util.Conv2DInfo,
  fused?: Epilogue,
  baked?: Float32Array,
): OpGraph {
  const { b, inputs, x, filter } = convInputs(info, fused, baked);
  let nhwc: string;
  if (!baked && convAsPatchGemm(info)) {
    const [kh, kw, c, o] = info.filterShape;
    const matrix = b.node('Reshape', [filter, b.int64s('matrix_shape', [kh * kw * c, o])]);
    nhwc = patchGemm(b, x, matrix, info, info.padInfo, o);
  } else {
    const conv = b.node(
      'Conv',
      [
        b.node('Transpose', [x], { perm: NHWC_TO_NCHW }),
        b.node('Transpose', [filter], { perm: HWIO_TO_OIHW }),
      ],
      {
        kernel_shape: [info.filterHeight, info.filterWidth],
        strides: [info.strideHeight, info.strideWidth],
        dilations: [info.dilationHeight, info.dilationWidth],
        pads: padsOf(info),
      },
    );
    nhwc = b.node('Transpose', [conv], { perm: NCHW_TO_NHWC });
  }
  return finish(b, inputs, fused ? epilogue(b, nhwc, fused) : nhwc, [...info.outShape]);
}

/** Pads of the stride-1 input gradient as a forward conv: k - 1 - pad on each side. */
function flippedPadsOf(info: tf.backend_util.Conv2DInfo): number[] {
  const p = info.padInfo;
  const { filterHeight: kh, filterWidth: kw } = info;
  return [kh - 1 - p.top, kw - 1 - p.left, kh - 1 - p.bottom, kw - 1 - p.right];
}

/** Whether the input gradient runs as a forward conv of dy (stride 1, pads within the kernel). */
export function backpropInputAsConv(info: tf.backend_util.Conv2DInfo): boolean {
  return (
    info.strideHeight === 1 && info.strideWidth === 1 && flippedPadsOf(info).every((v) => v >= 0)
  );
}

/**
 * Conv2DBackpropInput, the gradient of a conv with respect to its input. At stride 1 it is the
 * full correlation of dy with the flipped filter, in and out channels swapped: one forward Conv
 * with pads k - 1 - pad, faster in onnxruntime than ConvTranspose at G's 256 px shapes. Strided
 * convs (and pads beyond the kernel) use ConvTranspose with the forward pads and an
 * output_padding restoring the rows and columns the forward conv dropped.
 */
export function conv2dBackpropInputGraph(
  info: tf.backend_util.Conv2DInfo,
  baked?: Float32Array,
): OpGraph {
  if (baked && !backpropInputAsConv(info))
    throw new Error('only a stride-1 input gradient takes a baked filter');
  const b = new OnnxGraphBuilder();
  const inputs = [
    { name: 'dy', shape: [...info.outShape] },
    ...(baked ? [] : [{ name: 'filter', shape: [...info.filterShape] }]),
  ];
  const [dy, declared] = declare(b, inputs);
  // A baked filter's flip and transposes are folded into one constant when the session loads.
  const filter = baked ? b.weight('filter', baked, [...info.filterShape]) : declared;
  const p = info.padInfo;
  const { filterHeight: kh, filterWidth: kw } = info;
  const flippedPads = flippedPadsOf(info);
  const nchw = () => b.node('Transpose', [dy!], { perm: NHWC_TO_NCHW });
  let dx: string;
  if (backpropInputAsConv(info)) {
    const [top, left, bottom, right] = flippedPads as [number, number, number, number];
    // The backward conv's own geometry: dy in, dx out, the channels swapped.
    const backward = tf.backend_util.computeConv2DInfo(
      info.outShape,
      [kh, kw, info.outChannels, info.inChannels],
      1,
      1,
      [
        [0, 0],
        [top, bottom],
        [left, right],
        [0, 0],
      ],
    );
    const flip = (value: string, axes: [number, number]) =>
      b.node('Slice', [
        value,
        b.int64s('flip_starts', [-1, -1]),
        b.int64s('flip_ends', [-(2 ** 62), -(2 ** 62)]),
        b.int64s(`flip_axes_${axes.join('')}`, axes),
        b.int64s('flip_steps', [-1, -1]),
      ]);
    if (!baked && convAsPatchGemm(backward)) {
      // [kh, kw, in, out] -> [kh, kw, out, in], spatially reversed: the [kh·kw·out, in] matrix.
      const swapped = flip(b.node('Transpose', [filter!], { perm: [0, 1, 3, 2] }), [0, 1]);
      const matrix = b.node('Reshape', [
        swapped,
        b.int64s('matrix_shape', [kh * kw * info.outChannels, info.inChannels]),
      ]);
      const pads = { top, left, bottom, right };
      return finish(b, inputs, patchGemm(b, dy!, matrix, backward, pads, info.inChannels), [
        ...info.inShape,
      ]);
    }
    // [kh, kw, in, out] -> [in, out, kh, kw], then both spatial axes reversed.
    const swapped = flip(b.node('Transpose', [filter!], { perm: [2, 3, 0, 1] }), [2, 3]);
    dx = b.node('Conv', [nchw(), swapped], { kernel_shape: [kh, kw], pads: flippedPads });
  } else {
    const produced = (out: number, stride: number, k: number, before: number, after: number) =>
      stride * (out - 1) + k - before - after;
    const outputPadding = [
      info.inHeight - produced(info.outHeight, info.strideHeight, kh, p.top, p.bottom),
      info.inWidth - produced(info.outWidth, info.strideWidth, kw, p.left, p.right),
    ];
    dx = b.node('ConvTranspose', [nchw(), b.node('Transpose', [filter!], { perm: HWIO_TO_OIHW })], {
      kernel_shape: [kh, kw],
      strides: [info.strideHeight, info.strideWidth],
      pads: padsOf(info),
      output_padding: outputPadding,
    });
  }
  return finish(b, inputs, b.node('Transpose', [dx], { perm: NCHW_TO_NHWC }), [...info.inShape]);
}

/** Output channels from which the filter gradient is one GEMM over patches (see below). */
const PATCH_GEMM_MIN_CHANNELS = 128;

/**
 * Conv2DBackpropFilter, the gradient of a conv with respect to its filter, dW = patches(x)ᵀ dy.
 * With many output channels, as that GEMM: the padded input's kh·kw strided slices concatenated
 * on the channel axis are the patches, [N·oh·ow, kh·kw·C], and Gemm(transA) gives [kh·kw·C, O],
 * which is HWIO already. With few output channels the patch copy (kh·kw times the input) costs
 * more than the GEMM saves, so as one forward Conv: the channels become the batch (x as
 * [C, N, H, W]) and dy the weights ([O, N, oh, ow]), dilated by the forward stride, cut to the
 * filter's size and laid out HWIO. At G's 256 px shapes the GEMM is the faster of the two from
 * 128 output channels up (PATCH_GEMM_MIN_CHANNELS), the Conv below.
 */
export function conv2dBackpropFilterGraph(info: tf.backend_util.Conv2DInfo): OpGraph {
  const b = new OnnxGraphBuilder();
  const inputs = [
    { name: 'x', shape: [...info.inShape] },
    { name: 'dy', shape: [...info.outShape] },
  ];
  const [x, dy] = declare(b, inputs);
  const p = info.padInfo;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const { batchSize: n, outHeight: oh, outWidth: ow, inChannels: c, outChannels: o } = info;
  if (o >= PATCH_GEMM_MIN_CHANNELS || pointwise(info)) {
    const rows = patchRows(b, x!, info, p);
    const grads = b.node('Reshape', [dy!, b.int64s('dy_shape', [n * oh * ow, o])]);
    const dw = b.node('Gemm', [rows, grads], { transA: 1 });
    return finish(b, inputs, b.node('Reshape', [dw, b.int64s('filter_shape', [kh, kw, c, o])]), [
      ...info.filterShape,
    ]);
  }
  const channelsFirst = [3, 0, 1, 2];
  const grad = b.node(
    'Conv',
    [
      b.node('Transpose', [x!], { perm: channelsFirst }),
      b.node('Transpose', [dy!], { perm: channelsFirst }),
    ],
    { kernel_shape: [oh, ow], dilations: [sh, sw], pads: padsOf(info) },
  );
  const fullH = info.inHeight + p.top + p.bottom - (oh - 1) * sh;
  const fullW = info.inWidth + p.left + p.right - (ow - 1) * sw;
  let cut = grad;
  if (fullH !== kh || fullW !== kw) {
    cut = b.node('Slice', [
      grad,
      b.int64s('starts', [0, 0]),
      b.int64s('ends', [kh, kw]),
      b.int64s('axes', [2, 3]),
    ]);
  }
  return finish(b, inputs, b.node('Transpose', [cut], { perm: [2, 3, 0, 1] }), [
    ...info.filterShape,
  ]);
}

/** Swaps the last two axes of a rank-r value. */
function transposeLastTwo(b: OnnxGraphBuilder, value: string, rank: number): string {
  const perm = Array.from({ length: rank }, (_, i) => i);
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1]!, perm[rank - 2]!];
  return b.node('Transpose', [value], { perm });
}

/**
 * BatchMatMul (and _FusedMatMul): a [..., m, k] times b [..., k, n], either transposed, batch
 * axes broadcast as numpy (and tfjs) do; `outShape` is tfjs's.
 */
export function matMulGraph(
  aShape: number[],
  bShape: number[],
  transposeA: boolean,
  transposeB: boolean,
  outShape: number[],
  fused?: Epilogue,
): OpGraph {
  const g = new OnnxGraphBuilder();
  const inputs = withBias(
    [
      { name: 'a', shape: aShape },
      { name: 'b', shape: bShape },
    ],
    fused,
  );
  const [a, b] = declare(g, inputs);
  const left = transposeA ? transposeLastTwo(g, a!, aShape.length) : a!;
  const right = transposeB ? transposeLastTwo(g, b!, bShape.length) : b!;
  const product = g.node('MatMul', [left, right]);
  return finish(g, inputs, fused ? epilogue(g, product, fused) : product, outShape);
}

/** A one-node graph (or a short chain, `nodes`) over float32 inputs of the given shapes. */
export function pointwiseGraph(
  inputShapes: number[][],
  outShape: number[],
  nodes: (b: OnnxGraphBuilder, inputs: string[]) => string,
): OpGraph {
  const b = new OnnxGraphBuilder();
  const inputs = inputShapes.map((shape, i) => ({ name: `in${i}`, shape }));
  const values = declare(b, inputs);
  return finish(b, inputs, nodes(b, values), outShape);
}

/** A pooling window over NHWC, run NCHW inside the graph. */
export function poolGraph(
  info: tf.backend_util.Conv2DInfo,
  op: 'AveragePool' | 'MaxPool',
): OpGraph {
  const b = new OnnxGraphBuilder();
  const inputs = [{ name: 'x', shape: [...info.inShape] }];
  const [x] = declare(b, inputs);
  const pooled = b.node(op, [b.node('Transpose', [x!], { perm: NHWC_TO_NCHW })], {
    kernel_shape: [info.filterHeight, info.filterWidth],
    strides: [info.strideHeight, info.strideWidth],
    pads: padsOf(info),
    ...(op === 'AveragePool' ? { count_include_pad: 0 } : {}),
  });
  return finish(b, inputs, b.node('Transpose', [pooled], { perm: NCHW_TO_NHWC }), [
    ...info.outShape,
  ]);
}

/**
 * DepthwiseConv2dNative (and FusedDepthwiseConv2D): a grouped ONNX Conv, one group per input
 * channel. tfjs's output channel c * multiplier + m is group c's m-th output, as in ONNX, so the
 * HWCM filter becomes [C * M, 1, kh, kw] by a transpose and a reshape.
 */
export function depthwiseConv2dGraph(info: tf.backend_util.Conv2DInfo, fused?: Epilogue): OpGraph {
  const { b, inputs, x, filter } = convInputs(info, fused);
  const [kh, kw, c, m] = info.filterShape;
  const weights = b.node('Reshape', [
    b.node('Transpose', [filter], { perm: [2, 3, 0, 1] }),
    b.int64s('shape', [c * m, 1, kh, kw]),
  ]);
  const conv = b.node('Conv', [b.node('Transpose', [x], { perm: NHWC_TO_NCHW }), weights], {
    group: c,
    kernel_shape: [kh, kw],
    strides: [info.strideHeight, info.strideWidth],
    dilations: [info.dilationHeight, info.dilationWidth],
    pads: padsOf(info),
  });
  const nhwc = b.node('Transpose', [conv], { perm: NCHW_TO_NHWC });
  return finish(b, inputs, fused ? epilogue(b, nhwc, fused) : nhwc, [...info.outShape]);
}

/**
 * One block of a tap-GEMM filter gradient (filterGradientTaps.ts): `taps` views of x's grid
 * rows ([rows, C] each) and dy's ([rows, O]), each tap's Xᵀ·DY stacked as [taps·C, O] (HWIO),
 * plus the sum of the blocks before.
 */
export function conv2dBackpropFilterTapsGraph(
  taps: number,
  rows: number,
  inChannels: number,
  outChannels: number,
): OpGraph {
  const b = new OnnxGraphBuilder();
  const inputs = [
    ...Array.from({ length: taps }, (_, t) => ({ name: `x${t}`, shape: [rows, inChannels] })),
    { name: 'dy', shape: [rows, outChannels] },
    { name: 'sum', shape: [taps * inChannels, outChannels] },
  ];
  const names = declare(b, inputs);
  const sum = names.pop()!;
  const dy = names.pop()!;
  const products = names.map((x) => b.node('Gemm', [x, dy], { transA: 1 }));
  const stacked = products.length === 1 ? products[0]! : b.node('Concat', products, { axis: 0 });
  return finish(b, inputs, b.node('Add', [stacked, sum]), [taps * inChannels, outChannels]);
}
