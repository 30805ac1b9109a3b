/**
 * out[i] = op(a[ia], b[ib]) over numpy broadcasting, walking the output in order with per-axis
 * strides (0 on a broadcast axis) instead of converting every index to coordinates and back, as
 * the cpu kernels do (their broadcasting path allocates per element).
 */
export function broadcastBinary(
  a: Float32Array,
  aShape: readonly number[],
  b: Float32Array,
  bShape: readonly number[],
  outShape: readonly number[],
  op: (x: number, y: number) => number,
): Float32Array {
  const rank = outShape.length;
  const size = outShape.reduce((p, d) => p * d, 1);
  const out = new Float32Array(size);
  if (size === 0) return out;
  const stridesIn = (shape: readonly number[]) => {
    const strides = new Array<number>(rank).fill(0);
    let s = 1;
    for (let i = shape.length - 1, axis = rank - 1; i >= 0; i--, axis--) {
      strides[axis] = shape[i] === 1 ? 0 : s;
      s *= shape[i]!;
    }
    return strides;
  };
  const sa = stridesIn(aShape);
  const sb = stridesIn(bShape);
  const inner = rank === 0 ? 1 : outShape[rank - 1]!;
  const ia = rank === 0 ? 0 : sa[rank - 1]!;
  const ib = rank === 0 ? 0 : sb[rank - 1]!;
  const index = new Array<number>(Math.max(rank - 1, 0)).fill(0);
  let pa = 0;
  let pb = 0;
  for (let o = 0; o < size; o += inner) {
    for (let j = 0, x = pa, y = pb; j < inner; j++, x += ia, y += ib) out[o + j] = op(a[x]!, b[y]!);
    // Advance the outer coordinates like an odometer, moving both read positions with them.
    for (let axis = rank - 2; axis >= 0; axis--) {
      pa += sa[axis]!;
      pb += sb[axis]!;
      if (++index[axis]! < outShape[axis]!) break;
      pa -= sa[axis]! * outShape[axis]!;
      pb -= sb[axis]! * outShape[axis]!;
      index[axis] = 0;
    }
  }
  return out;
}

export type Reduction = 'sum' | 'mean' | 'max' | 'min';

/**
 * Sum, mean, max or min over `axes`, walking the input in order with each axis's stride in the
 * output (0 on a reduced axis): the cpu kernels first transpose the reduced axes innermost, which
 * made the instance norms' means over height and width the slowest kernel of a 64 px generator.
 * max and min propagate NaN, as the cpu kernels do. The output is in the input's order without
 * the reduced axes (keepDims only changes the shape).
 */
export function reduceAxes(
  values: Float32Array,
  shape: readonly number[],
  axes: readonly number[],
  kind: Reduction,
): Float32Array {
  const rank = shape.length;
  const outStrides = new Array<number>(rank).fill(0);
  let outSize = 1;
  for (let axis = rank - 1; axis >= 0; axis--)
    if (!axes.includes(axis)) {
      outStrides[axis] = outSize;
      outSize *= shape[axis]!;
    }
  const start = kind === 'max' ? -Infinity : kind === 'min' ? Infinity : 0;
  const out = new Float32Array(outSize).fill(start);
  const size = values.length;
  const inner = rank === 0 ? 1 : shape[rank - 1]!;
  const step = rank === 0 ? 0 : outStrides[rank - 1]!;
  const index = new Array<number>(Math.max(rank - 1, 0)).fill(0);
  let base = 0;
  for (let i = 0; i < size; i += inner) {
    if (kind === 'sum' || kind === 'mean')
      for (let j = 0, o = base; j < inner; j++, o += step) out[o]! += values[i + j]!;
    else if (kind === 'max')
      for (let j = 0, o = base; j < inner; j++, o += step) {
        const v = values[i + j]!;
        if (v > out[o]! || Number.isNaN(v)) out[o] = v;
      }
    else
      for (let j = 0, o = base; j < inner; j++, o += step) {
        const v = values[i + j]!;
        if (v < out[o]! || Number.isNaN(v)) out[o] = v;
      }
    for (let axis = rank - 2; axis >= 0; axis--) {
      base += outStrides[axis]!;
      if (++index[axis]! < shape[axis]!) break;
      base -= outStrides[axis]! * shape[axis]!;
      index[axis] = 0;
    }
  }
  if (kind === 'mean' && outSize > 0) {
    const count = size / outSize;
    for (let o = 0; o < outSize; o++) out[o] = out[o]! / count;
  }
  return out;
}
