/**
 * 68 face-alignment points (the iBUG 300-W layout), x and y interleaved: [x0, y0, x1, y1, ...].
 * Coordinates are continuous pixel positions: pixel column c covers [c, c + 1), so its centre is
 * at c + 0.5. Flipping an image of width W maps x to W - x under this convention.
 */
export type Points = Float32Array;

export const POINT_COUNT = 68;

/** x' = a*x + b*y + tx, y' = c*x + d*y + ty. */
export interface Affine {
  a: number;
  b: number;
  c: number;
  d: number;
  tx: number;
  ty: number;
}

export interface Box {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** Checks the length: a wrong-sized array is a programming error, not user input. */
export function assertPoints(points: Float32Array): asserts points is Points {
  if (points.length !== POINT_COUNT * 2)
    throw new Error(`expected ${POINT_COUNT * 2} coordinates, got ${points.length}`);
}

export function mapPoints(points: Points, m: Affine): Points {
  const out = new Float32Array(points.length);
  for (let i = 0; i < points.length; i += 2) {
    const x = points[i]!;
    const y = points[i + 1]!;
    out[i] = m.a * x + m.b * y + m.tx;
    out[i + 1] = m.c * x + m.d * y + m.ty;
  }
  return out;
}

/** The tight axis-aligned box around the points. */
export function boundingBox(points: Points): Box {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (let i = 0; i < points.length; i += 2) {
    minX = Math.min(minX, points[i]!);
    maxX = Math.max(maxX, points[i]!);
    minY = Math.min(minY, points[i + 1]!);
    maxY = Math.max(maxY, points[i + 1]!);
  }
  return { left: minX, top: minY, width: maxX - minX, height: maxY - minY };
}

/** The mean of several point sets (e.g. a clip's frames): a stable basis for one crop per clip. */
export function meanPoints(sets: readonly Points[]): Points {
  if (sets.length === 0) throw new Error('meanPoints needs at least one set');
  const out = new Float32Array(POINT_COUNT * 2);
  for (const set of sets) for (let i = 0; i < out.length; i++) out[i]! += set[i]!;
  for (let i = 0; i < out.length; i++) out[i]! /= sets.length;
  return out;
}

/** Mean of the given points' positions. */
export function centroid(points: Points, indices: readonly number[]): [number, number] {
  let x = 0;
  let y = 0;
  for (const i of indices) {
    x += points[2 * i]!;
    y += points[2 * i + 1]!;
  }
  return [x / indices.length, y / indices.length];
}
