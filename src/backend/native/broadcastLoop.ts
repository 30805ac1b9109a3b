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
