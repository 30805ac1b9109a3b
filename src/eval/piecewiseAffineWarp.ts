// delaunator 4: its 5.x releases are ES modules only, which this CommonJS build and jest cannot load.
import Delaunator from 'delaunator';
import { POINT_COUNT, type Points } from '../data/landmarks/points';

/**
 * The eight border points (corners and edge midpoints) added to the 68 landmarks on both sides
 * of the warp: they stay where they are, so the triangulation's hull covers the whole frame and
 * the background moves less the farther it is from the face.
 */
function borderPoints(size: number): number[] {
  const h = size / 2;
  return [0, 0, h, 0, size, 0, size, h, size, size, h, size, 0, size, 0, h];
}

/**
 * The frame `rgb` (size x size, RGB bytes) warped so that its landmarks `from` land on `to`: a
 * piecewise-affine warp over a Delaunay triangulation of `to` and the frame's border points. Each
 * output pixel's centre is carried by its triangle's affine map to a point of the source frame,
 * read bilinearly (past the border the edge pixels repeat). Points use the project's continuous
 * pixel coordinates (a pixel's centre at c + 0.5), so equal landmarks give back `rgb` itself.
 */
export function warpToLandmarks(
  rgb: Uint8Array,
  size: number,
  from: Points,
  to: Points,
): Uint8Array {
  if (rgb.length !== size * size * 3)
    throw new Error(`expected a ${size}x${size} RGB frame, got ${rgb.length} bytes`);
  const border = borderPoints(size);
  const target = Float64Array.from([...to.subarray(0, POINT_COUNT * 2), ...border]);
  const source = Float64Array.from([...from.subarray(0, POINT_COUNT * 2), ...border]);
  const { triangles } = new Delaunator(target);
  const out = new Uint8Array(rgb.length);
  for (let t = 0; t < triangles.length; t += 3) {
    const [a, b, c] = [triangles[t]!, triangles[t + 1]!, triangles[t + 2]!];
    drawTriangle(
      rgb,
      size,
      out,
      [a, b, c].map((i) => [target[2 * i]!, target[2 * i + 1]!]),
      [a, b, c].map((i) => [source[2 * i]!, source[2 * i + 1]!]),
    );
  }
  return out;
}

type Vertex = number[];

/**
 * Fills the output pixels whose centres lie in the target triangle `to` with the source read at
 * the same barycentric position in `from`. A centre on an edge shared by two triangles gets the
 * same value from both: the warp is continuous.
 */
function drawTriangle(
  rgb: Uint8Array,
  size: number,
  out: Uint8Array,
  to: Vertex[],
  from: Vertex[],
): void {
  const [[x0, y0], [x1, y1], [x2, y2]] = to as [
    [number, number],
    [number, number],
    [number, number],
  ];
  const area = (x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0);
  if (Math.abs(area) < 1e-9) return;
  // Half a millionth of a pixel of slack, so centres on an edge belong to both sides.
  const eps = -1e-6;
  const top = Math.max(0, Math.floor(Math.min(y0, y1, y2) - 0.5));
  const bottom = Math.min(size - 1, Math.ceil(Math.max(y0, y1, y2) - 0.5));
  const left = Math.max(0, Math.floor(Math.min(x0, x1, x2) - 0.5));
  const right = Math.min(size - 1, Math.ceil(Math.max(x0, x1, x2) - 0.5));
  for (let y = top; y <= bottom; y++) {
    const py = y + 0.5;
    for (let x = left; x <= right; x++) {
      const px = x + 0.5;
      // Barycentric weights of the three vertices: the sub-triangles' areas opposite each.
      const w0 = ((x1 - px) * (y2 - py) - (x2 - px) * (y1 - py)) / area;
      const w1 = ((x2 - px) * (y0 - py) - (x0 - px) * (y2 - py)) / area;
      const w2 = 1 - w0 - w1;
      if (w0 < eps || w1 < eps || w2 < eps) continue;
      const u = w0 * from[0]![0]! + w1 * from[1]![0]! + w2 * from[2]![0]!;
      const v = w0 * from[0]![1]! + w1 * from[1]![1]! + w2 * from[2]![1]!;
      sampleBilinear(rgb, size, u - 0.5, v - 0.5, out, (y * size + x) * 3);
    }
  }
}

/** The source at pixel-index position (fx, fy), bilinear, edges repeated; written at `at`. */
function sampleBilinear(
  rgb: Uint8Array,
  size: number,
  fx: number,
  fy: number,
  out: Uint8Array,
  at: number,
): void {
  const clamp = (v: number) => Math.min(size - 1, Math.max(0, v));
  const x = clamp(fx);
  const y = clamp(fy);
  const xa = Math.floor(x);
  const ya = Math.floor(y);
  const xb = Math.min(size - 1, xa + 1);
  const yb = Math.min(size - 1, ya + 1);
  const wx = x - xa;
  const wy = y - ya;
  for (let ch = 0; ch < 3; ch++) {
    const p = (r: number, c: number) => rgb[(r * size + c) * 3 + ch]!;
    const value =
      (1 - wy) * ((1 - wx) * p(ya, xa) + wx * p(ya, xb)) +
      wy * ((1 - wx) * p(yb, xa) + wx * p(yb, xb));
    out[at + ch] = Math.round(value);
  }
}
