import * as tf from '@tensorflow/tfjs';
import type { KernelArgs } from '../kernels/kernelCalls';
import { outputFromFloats, readFloats } from '../kernels/hostData';
import type { NativeBackend } from './nativeBackend';
import { tiledAvgPoolGrad, tiledMaxPool, tilesExactly } from './tiledPooling';
import { LEAKY_RELU_GRAD, type LeakyReluGradAttrs } from '../kernels/leakyReluGrad';
import { allFloat32, nativeKernel, onCpu, poolInfo } from './nativeKernelArgs';

// Kernels whose cpu versions spend most of their time on per-element index arithmetic, rewritten
// as plain loops over NHWC strides: profiling a tiny meta-learning step on the cpu kernels put
// AvgPoolGrad at 14% of the step, MaxPoolGrad at 3% (one call) and Slice at 1.5% (six calls).

/** One pooling window: its output position and the in-bounds input rows and columns it covers. */
interface PoolWindow {
  n: number;
  /** Offset of the window's output in the NHWC output (channel 0). */
  out: number;
  y0: number;
  y1: number;
  x0: number;
  x1: number;
}

/** Calls `visit` for every output position of the pool, in NHWC order. */
function forEachWindow(info: tf.backend_util.Conv2DInfo, visit: (w: PoolWindow) => void): void {
  const { batchSize, inHeight, inWidth, inChannels: c, outHeight, outWidth } = info;
  const { strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
  const { top, left } = info.padInfo;
  for (let n = 0; n < batchSize; n++)
    for (let oy = 0; oy < outHeight; oy++) {
      const y0 = Math.max(0, oy * sh - top);
      const y1 = Math.min(inHeight, oy * sh - top + fh);
      for (let ox = 0; ox < outWidth; ox++) {
        const out = ((n * outHeight + oy) * outWidth + ox) * c;
        const x0 = Math.max(0, ox * sw - left);
        visit({ n, out, y0, y1, x0, x1: Math.min(inWidth, ox * sw - left + fw) });
      }
    }
}

/**
 * AvgPoolGrad: each dy spread evenly over its window's in-bounds inputs (tfjs's average counts
 * only those, so the weight is 1 / their count).
 */
function avgPoolGrad(args: KernelArgs): tf.TensorInfo {
  const { dy, input } = args.inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
  if (!allFloat32(dy, input)) return onCpu('AvgPoolGrad', args);
  const backend = args.backend as NativeBackend;
  const info = poolInfo(args, input.shape);
  const g = readFloats(backend, dy);
  const size = input.shape.reduce((a, b) => a * b, 1);
  if (tilesExactly(info))
    return outputFromFloats(
      backend,
      [...input.shape],
      tiledAvgPoolGrad(g, info, backend.outputArray(size)),
    );
  const dx = backend.outputArray(size).fill(0);
  const { inHeight, inWidth, inChannels: c } = info;
  forEachWindow(info, ({ n, out, y0, y1, x0, x1 }) => {
    const count = (y1 - y0) * (x1 - x0);
    if (count <= 0) return;
    const weight = 1 / count;
    for (let y = y0; y < y1; y++)
      for (let x = x0; x < x1; x++) {
        const dst = ((n * inHeight + y) * inWidth + x) * c;
        for (let ch = 0; ch < c; ch++) dx[dst + ch]! += g[out + ch]! * weight;
      }
  });
  return outputFromFloats(backend, [...input.shape], dx);
}

/**
 * MaxPoolGrad: each dy goes to its window's largest input, the first in row-major order on ties
 * (as the cpu kernel picks it). Padding never wins, whatever the sign of the inputs.
 */
function maxPoolGrad(args: KernelArgs): tf.TensorInfo {
  const { dy, input } = args.inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
  if (!allFloat32(dy, input)) return onCpu('MaxPoolGrad', args);
  const backend = args.backend as NativeBackend;
  const info = poolInfo(args, input.shape);
  const g = readFloats(backend, dy);
  const xs = readFloats(backend, input);
  const dx = backend.outputArray(xs.length).fill(0);
  const { inHeight, inWidth, inChannels: c } = info;
  forEachWindow(info, ({ n, out, y0, y1, x0, x1 }) => {
    for (let ch = 0; ch < c; ch++) {
      let best = -1;
      let max = -Infinity;
      for (let y = y0; y < y1; y++)
        for (let x = x0; x < x1; x++) {
          const at = ((n * inHeight + y) * inWidth + x) * c + ch;
          if (xs[at]! > max || best < 0) [max, best] = [xs[at]!, at];
        }
      if (best >= 0) dx[best]! += g[out + ch]!;
    }
  });
  return outputFromFloats(backend, [...input.shape], dx);
}

/** Slice as copies of contiguous runs (the innermost axes the slice keeps whole). */
function slice(args: KernelArgs): tf.TensorInfo {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const attrs = args.attrs as unknown as tf.SliceAttrs;
  if (x.dtype !== 'float32' && x.dtype !== 'int32') return onCpu('Slice', args);
  const [begin, size] = tf.slice_util.parseSliceParams(
    x as unknown as tf.Tensor,
    attrs.begin,
    attrs.size,
  );
  const backend = args.backend as NativeBackend;
  const xs = backend.hostValues(x.dataId) as Float32Array | Int32Array | Uint8Array;
  const shape = x.shape;
  const rank = shape.length;
  const strides = new Array<number>(rank);
  for (let axis = rank - 1, s = 1; axis >= 0; s *= shape[axis--]!) strides[axis] = s;
  // Axes from `whole` on are taken whole; the axis before them (`cut`) is cut, and each of its
  // kept rows is adjacent to the next, so one run covers them all.
  let whole = rank;
  while (whole > 0 && begin[whole - 1] === 0 && size[whole - 1] === shape[whole - 1]) whole--;
  const cut = whole - 1;
  const total = size.reduce((a, b) => a * b, 1);
  const run = cut >= 0 ? size[cut]! * strides[cut]! : total;
  // By dtype, not by storage: a float32 tensor may hold an Int32Array (readFloats).
  const out = x.dtype === 'float32' ? backend.outputArray(total) : new Int32Array(total);
  const index = new Array<number>(Math.max(cut, 0)).fill(0);
  const runs = run === 0 ? 0 : total / run;
  for (let r = 0; r < runs; r++) {
    let from = cut >= 0 ? begin[cut]! * strides[cut]! : 0;
    for (let axis = 0; axis < cut; axis++) from += (begin[axis]! + index[axis]!) * strides[axis]!;
    out.set(xs.subarray(from, from + run), r * run);
    for (let axis = cut - 1; axis >= 0; axis--) {
      if (++index[axis]! < size[axis]!) break;
      index[axis] = 0;
    }
  }
  return backend.makeTensorInfo(size, x.dtype, out);
}

type Comparison = (a: number, b: number) => boolean;
const COMPARISONS: Record<string, Comparison> = {
  Greater: (a, b) => a > b,
  GreaterEqual: (a, b) => a >= b,
  Less: (a, b) => a < b,
  LessEqual: (a, b) => a <= b,
};

/**
 * Comparisons of same-shaped tensors, or of a tensor with a scalar (LeakyRelu's and Relu's
 * gradients compare x with 0): the cpu kernel's broadcasting index arithmetic made Greater 6%
 * of a paper-size meta-learning step. Other shapes go to the cpu kernel.
 */
function comparison(kernelName: string, compare: Comparison) {
  return (args: KernelArgs): tf.TensorInfo => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const scalarB = b.shape.length === 0;
    if (!allFloat32(a, b) || !(scalarB || tf.util.arraysEqual(a.shape, b.shape)))
      return onCpu(kernelName, args);
    const backend = args.backend as NativeBackend;
    const xs = readFloats(backend, a);
    const ys = readFloats(backend, b);
    const out = new Uint8Array(xs.length);
    if (scalarB) {
      const y = ys[0]!;
      for (let i = 0; i < xs.length; i++) out[i] = compare(xs[i]!, y) ? 1 : 0;
    } else for (let i = 0; i < xs.length; i++) out[i] = compare(xs[i]!, ys[i]!) ? 1 : 0;
    return backend.makeTensorInfo([...a.shape], 'bool', out);
  };
}

/** Select (where) over three same-shaped tensors; a broadcast condition goes to the cpu kernel. */
function select(args: KernelArgs): tf.TensorInfo {
  const { condition, t, e } = args.inputs as Record<'condition' | 't' | 'e', tf.TensorInfo>;
  if (
    condition.dtype !== 'bool' ||
    !allFloat32(t, e) ||
    !tf.util.arraysEqual(condition.shape, t.shape) ||
    !tf.util.arraysEqual(t.shape, e.shape)
  )
    return onCpu('Select', args);
  const backend = args.backend as NativeBackend;
  const c = backend.hostValues(condition.dataId) as Uint8Array;
  const xs = bitsOf(readFloats(backend, t));
  const ys = bitsOf(readFloats(backend, e));
  const out = backend.outputArray(xs.length);
  const bits = bitsOf(out);
  // Branch-free on the float bits: the condition of a LeakyRelu gradient is a coin flip per
  // element, so a branch on it is mispredicted half the time.
  for (let i = 0; i < bits.length; i++) bits[i] = ys[i]! ^ ((xs[i]! ^ ys[i]!) & -c[i]!);
  return outputFromFloats(backend, [...t.shape], out);
}

/** The same memory as 32-bit integers. */
function bitsOf(values: Float32Array): Int32Array {
  return new Int32Array(values.buffer, values.byteOffset, values.length);
}

/** SplitV as slices by the fast Slice above (the cpu SplitV calls the cpu Slice directly). */
function splitV(args: KernelArgs): tf.TensorInfo[] {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { numOrSizeSplits, axis } = args.attrs as unknown as tf.SplitVAttrs;
  const at = tf.util.parseAxisParam(axis, x.shape)[0]!;
  const sizes = tf.backend_util.prepareSplitSize(x as unknown as tf.Tensor, numOrSizeSplits, at);
  const begin = new Array<number>(x.shape.length).fill(0);
  return sizes.map((s) => {
    const size = [...x.shape];
    size[at] = s;
    const part = slice({
      ...args,
      attrs: { begin: [...begin], size } as unknown as tf.NamedAttrMap,
    });
    begin[at]! += s;
    return part;
  });
}

/**
 * LeakyRelu's gradient in one pass: dy where x > 0, else alpha dy (tfjs's gradient makes a mask,
 * a product and a select: three passes and a bool tensor). See src/ops/leakyRelu.ts.
 */
function leakyReluGrad(args: KernelArgs): tf.TensorInfo {
  const { dy, x } = args.inputs as { dy: tf.TensorInfo; x: tf.TensorInfo };
  const { alpha } = args.attrs as unknown as LeakyReluGradAttrs;
  if (!allFloat32(dy, x) || !tf.util.arraysEqual(dy.shape, x.shape))
    throw new Error(`${LEAKY_RELU_GRAD} needs float32 dy and x of one shape`);
  const backend = args.backend as NativeBackend;
  const g = readFloats(backend, dy);
  const xs = readFloats(backend, x);
  const dx = backend.outputArray(g.length);
  // alpha as the float32 tfjs multiplies by, so that dy·alpha rounds as tfjs's product does;
  // (1 - slope) + slope is then exactly 1.
  const slope = Math.fround(alpha);
  const gain = 1 - slope;
  // The slope as arithmetic on the comparison (0 or 1), not a branch on it.
  for (let i = 0; i < dx.length; i++) dx[i] = g[i]! * (slope + gain * +(xs[i]! > 0));
  return outputFromFloats(backend, [...x.shape], dx);
}

/** MaxPool: windows that tile the input (VGG's 2x2 pools) as one pass over it; others on cpu. */
function maxPool(args: KernelArgs): tf.TensorInfo {
  const { x } = args.inputs as { x: tf.TensorInfo };
  if (!allFloat32(x)) return onCpu('MaxPool', args);
  const info = poolInfo(args, x.shape);
  if (!tilesExactly(info)) return onCpu('MaxPool', args);
  const backend = args.backend as NativeBackend;
  const { batchSize, outHeight, outWidth, inChannels } = info;
  const out = backend.outputArray(batchSize * outHeight * outWidth * inChannels);
  return outputFromFloats(
    backend,
    [batchSize, outHeight, outWidth, inChannels],
    tiledMaxPool(readFloats(backend, x), info, out),
  );
}

/**
 * Step, which ReLU's gradient multiplies dy by: 1 where x > 0, alpha elsewhere, NaN where x is
 * NaN (as the cpu kernel, whose per-element callback this replaces).
 */
function step(args: KernelArgs): tf.TensorInfo {
  const { x } = args.inputs as { x: tf.TensorInfo };
  if (!allFloat32(x)) return onCpu('Step', args);
  const backend = args.backend as NativeBackend;
  const alpha = Math.fround((args.attrs as { alpha?: number }).alpha ?? 0);
  const xs = readFloats(backend, x);
  const out = backend.outputArray(xs.length);
  for (let i = 0; i < xs.length; i++) {
    const v = xs[i]!;
    out[i] = v > 0 ? 1 : v !== v ? Number.NaN : alpha;
  }
  return outputFromFloats(backend, [...x.shape], out);
}

export const HOST_KERNELS: readonly tf.KernelConfig[] = [
  nativeKernel('MaxPool', maxPool),
  nativeKernel('Step', step),
  nativeKernel('AvgPoolGrad', avgPoolGrad),
  nativeKernel('MaxPoolGrad', maxPoolGrad),
  nativeKernel('Slice', slice),
  nativeKernel('Select', select),
  nativeKernel('SplitV', splitV as never),
  nativeKernel(LEAKY_RELU_GRAD, leakyReluGrad),
  ...Object.entries(COMPARISONS).map(([name, f]) => nativeKernel(name, comparison(name, f))),
];
