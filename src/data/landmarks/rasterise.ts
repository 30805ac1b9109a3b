import { LANDMARK_PARTS, type LandmarkPart } from './parts';
import { assertPoints, POINT_COUNT, type Points } from './points';

export interface LandmarkImageOptions {
  size: number;
  background?: 'black' | 'white';
  /** line width in px; default size / 128 (2 px at 256). Below 1 px lines are faint: the
   * coverage profile then peaks at width/2 + 0.5. */
  lineWidth?: number;
  /** The parts to draw, in this order; default LANDMARK_PARTS (e.g. all in one colour for tests). */
  parts?: readonly LandmarkPart[];
}

/**
 * One part's coverage (max over its segments) and the pixels it has touched, so that compositing
 * and clearing visit only those pixels. Kept between calls of the same size: drawing is
 * synchronous, so one module-level buffer is never shared by two draws at once.
 */
interface CoverageScratch {
  size: number;
  values: Float64Array;
  touched: Int32Array;
  count: number;
}

let scratch: CoverageScratch | undefined;

function scratchFor(size: number): CoverageScratch {
  if (scratch?.size !== size) {
    scratch = {
      size,
      values: new Float64Array(size * size),
      touched: new Int32Array(size * size),
      count: 0,
    };
  }
  return scratch;
}

/**
 * Adds the capsule around segment a-b to the coverage: clamp(halfWidth + 0.5 - d, 0, 1), d being
 * the distance from a pixel's centre to the segment. This profile is a width-wide box convolved
 * with a 1 px ramp, so a line's ink per unit length is its width at any angle and sub-pixel offset.
 */
function addSegment(
  s: CoverageScratch,
  ax: number,
  ay: number,
  bx: number,
  by: number,
  halfWidth: number,
): void {
  const size = s.size;
  const reach = halfWidth + 0.5;
  const margin = halfWidth + 1;
  const c0 = Math.max(0, Math.floor(Math.min(ax, bx) - margin));
  const c1 = Math.min(size - 1, Math.ceil(Math.max(ax, bx) + margin));
  const r0 = Math.max(0, Math.floor(Math.min(ay, by) - margin));
  const r1 = Math.min(size - 1, Math.ceil(Math.max(ay, by) + margin));
  if (c0 > c1 || r0 > r1) return;
  const dx = bx - ax;
  const dy = by - ay;
  const len2 = dx * dx + dy * dy;
  const invLen2 = len2 > 0 ? 1 / len2 : 0; // a zero-length segment is a point: t stays 0
  const reach2 = reach * reach;
  const { values, touched } = s;
  for (let r = r0; r <= r1; r++) {
    const py = r + 0.5 - ay;
    const row = r * size;
    for (let c = c0; c <= c1; c++) {
      const px = c + 0.5 - ax;
      let t = (px * dx + py * dy) * invLen2;
      t = t < 0 ? 0 : t > 1 ? 1 : t;
      const ex = px - t * dx;
      const ey = py - t * dy;
      const d2 = ex * ex + ey * ey;
      if (d2 >= reach2) continue;
      const v = Math.min(1, reach - Math.sqrt(d2));
      const p = row + c;
      const old = values[p]!;
      if (v <= old) continue;
      // v > old >= 0, so a pixel enters the list once, when it first gets ink.
      if (old === 0) touched[s.count++] = p;
      values[p] = v;
    }
  }
}

/** pixel = coverage*colour + (1-coverage)*pixel over the touched pixels; clears the scratch. */
function compositePart(
  s: CoverageScratch,
  colour: readonly [number, number, number],
  out: Float32Array,
  offset: number,
): void {
  const [cr, cg, cb] = colour;
  const { values, touched } = s;
  for (let k = 0; k < s.count; k++) {
    const p = touched[k]!;
    const a = values[p]!;
    values[p] = 0;
    const o = offset + 3 * p;
    out[o] = a * cr + (1 - a) * out[o]!;
    out[o + 1] = a * cg + (1 - a) * out[o + 1]!;
    out[o + 2] = a * cb + (1 - a) * out[o + 2]!;
  }
  s.count = 0;
}

function checkPoints(points: Points): void {
  assertPoints(points);
  for (let i = 0; i < POINT_COUNT; i++) {
    const x = points[2 * i]!;
    const y = points[2 * i + 1]!;
    if (!Number.isFinite(x) || !Number.isFinite(y))
      throw new Error(`landmark point ${i} is not finite: (${x}, ${y})`);
  }
}

/**
 * Draws the landmark image: HWC RGB floats in [0,1], size*size*3, row-major. Writes into `out` at
 * `offset` when given (so a batch can be assembled without copies) and returns it; otherwise
 * allocates. Each part is a polyline of anti-aliased capsules (max coverage within a part, so
 * joints are not doubly dark), composited over the image in part order.
 */
export function rasteriseLandmarks(
  points: Points,
  options: LandmarkImageOptions,
  out?: Float32Array,
  offset = 0,
): Float32Array {
  const { size, background = 'black', parts = LANDMARK_PARTS } = options;
  const lineWidth = options.lineWidth ?? size / 128;
  if (!Number.isInteger(size) || size <= 0)
    throw new Error(`size must be a positive integer, got ${size}`);
  if (!(lineWidth > 0 && Number.isFinite(lineWidth)))
    throw new Error(`lineWidth must be positive, got ${lineWidth}`);
  checkPoints(points);
  const n = size * size * 3;
  const image = out ?? new Float32Array(n);
  if (!Number.isInteger(offset) || offset < 0 || offset + n > image.length)
    throw new RangeError(`out has ${image.length} values; ${n} do not fit at offset ${offset}`);
  image.fill(background === 'white' ? 1 : 0, offset, offset + n);

  const s = scratchFor(size);
  const halfWidth = lineWidth / 2;
  for (const part of parts) {
    const idx = part.indices;
    const m = idx.length;
    // A closed part adds last -> first; a one-point part is a dot (a zero-length segment).
    const segments = m === 1 ? 1 : part.closed && m > 2 ? m : m - 1;
    for (let k = 0; k < segments; k++) {
      const i = idx[k]!;
      const j = idx[(k + 1) % m]!;
      addSegment(
        s,
        points[2 * i]!,
        points[2 * i + 1]!,
        points[2 * j]!,
        points[2 * j + 1]!,
        halfWidth,
      );
    }
    compositePart(s, part.colour, image, offset);
  }
  return image;
}

/** The landmark image as 8-bit RGB (rounded), for PNG/JPEG previews. */
export function landmarkImageBytes(points: Points, options: LandmarkImageOptions): Uint8Array {
  const image = rasteriseLandmarks(points, options);
  const bytes = new Uint8Array(image.length);
  for (let i = 0; i < image.length; i++) bytes[i] = Math.round(image[i]! * 255);
  return bytes;
}
