import { flipPoints } from '../../src/data/landmarks/flip';
import { LANDMARK_PARTS, type LandmarkPart } from '../../src/data/landmarks/parts';
import { POINT_COUNT, type Points } from '../../src/data/landmarks/points';
import {
  landmarkImageBytes,
  rasteriseLandmarks,
  type LandmarkImageOptions,
} from '../../src/data/landmarks/rasterise';
import { maxAbsDiff } from '../helpers/compare';
import { meanFacePoints } from '../helpers/meanFace';

type Rgb = readonly [number, number, number];

/** Points all parked far outside the image except the ones set. */
function pointsWith(set: Record<number, [number, number]>): Points {
  const p = new Float32Array(POINT_COUNT * 2).fill(-1000);
  for (const [i, [x, y]] of Object.entries(set)) {
    p[2 * Number(i)] = x;
    p[2 * Number(i) + 1] = y;
  }
  return p;
}

/** One open part through the given point indices. */
const line = (indices: number[], colour: Rgb = [1, 1, 1]): LandmarkPart => ({
  name: 'line',
  indices,
  closed: false,
  colour,
});

const pixel = (img: Float32Array, size: number, r: number, c: number): number[] => {
  const o = 3 * (r * size + c);
  return [img[o]!, img[o + 1]!, img[o + 2]!];
};

/**
 * Distance from (px, py) to segment a-b, written differently from the rasteriser: the distance to
 * the infinite line when the foot falls inside the segment, else to the nearer endpoint.
 */
function segmentDistance(
  px: number,
  py: number,
  ax: number,
  ay: number,
  bx: number,
  by: number,
): number {
  const ux = bx - ax;
  const uy = by - ay;
  const len = Math.hypot(ux, uy);
  const along = (px - ax) * ux + (py - ay) * uy;
  if (len > 0 && along >= 0 && along <= len * len)
    return Math.abs((px - ax) * uy - (py - ay) * ux) / len;
  return Math.min(Math.hypot(px - ax, py - ay), Math.hypot(px - bx, py - by));
}

const coverage = (d: number, width: number): number =>
  Math.min(1, Math.max(0, width / 2 + 0.5 - d));

/** Sum over pixels of the first channel (the ink of a part drawn in [1, 0, 0] on black). */
function redInk(img: Float32Array): number {
  let s = 0;
  for (let i = 0; i < img.length; i += 3) s += img[i]!;
  return s;
}

/** The image with its columns reversed. */
function mirrorImage(img: Float32Array, size: number): Float32Array {
  const out = new Float32Array(img.length);
  for (let r = 0; r < size; r++)
    for (let c = 0; c < size; c++)
      for (let k = 0; k < 3; k++)
        out[3 * (r * size + c) + k] = img[3 * (r * size + (size - 1 - c)) + k]!;
  return out;
}

/** The mean face turned, shifted and jittered (so not symmetric), on a 1/64 px grid. */
function asymmetricFace(size: number): Points {
  const p = meanFacePoints(size);
  const angle = (12 * Math.PI) / 180;
  const [cos, sin] = [Math.cos(angle), Math.sin(angle)];
  const out = new Float32Array(p.length);
  for (let i = 0; i < POINT_COUNT; i++) {
    const x = p[2 * i]! - size / 2;
    const y = p[2 * i + 1]! - size / 2;
    const jitter = Math.sin(i * 12.9898) * 1.5;
    out[2 * i] = Math.round((cos * x - sin * y + size * 0.56 + jitter) * 64) / 64;
    out[2 * i + 1] = Math.round((sin * x + cos * y + size * 0.47 - jitter) * 64) / 64;
  }
  return out;
}

describe('rasteriseLandmarks: anti-aliased capsules', () => {
  const size = 32;

  it('draws a horizontal segment with the analytic coverage profile', () => {
    const colour: Rgb = [0.2, 0.6, 1];
    const pts = pointsWith({ 0: [4, 10.3], 1: [24, 10.3] });
    const img = rasteriseLandmarks(pts, { size, lineWidth: 2, parts: [line([0, 1], colour)] });
    expect(img.length).toBe(size * size * 3);
    const y = pts[1]!; // the float32 value actually drawn
    // Hand-computed: centres on the line are full colour, 0.8 px off is 0.7, 1.2 px off is 0.3.
    expect(pixel(img, size, 10, 10)).toEqual(colour.map(Math.fround));
    for (let k = 0; k < 3; k++) {
      expect(pixel(img, size, 9, 10)[k]).toBeCloseTo(0.7 * colour[k]!, 5);
      expect(pixel(img, size, 11, 10)[k]).toBeCloseTo(0.3 * colour[k]!, 5);
    }
    expect(pixel(img, size, 8, 10)).toEqual([0, 0, 0]);
    expect(pixel(img, size, 12, 10)).toEqual([0, 0, 0]);
    // Round cap: column 3's centre is 0.5 px before the start and 0.2 px off the line.
    expect(pixel(img, size, 10, 3)[0]).toBeCloseTo(0.2 * (1.5 - Math.hypot(0.5, 0.2)), 5);
    expect(pixel(img, size, 10, 2)).toEqual([0, 0, 0]);
    for (let r = 0; r < size; r++)
      for (let c = 0; c < size; c++) {
        const d = Math.hypot(Math.max(4 - (c + 0.5), 0, c + 0.5 - 24), r + 0.5 - y);
        const want = coverage(d, 2);
        const got = pixel(img, size, r, c);
        for (let k = 0; k < 3; k++)
          expect(Math.abs(got[k]! - want * colour[k]!)).toBeLessThan(1e-6);
      }
  });

  it('matches an independent reference for a slanted segment, a wide line and a dot', () => {
    const pts = pointsWith({ 0: [3.2, 5.7], 1: [20.9, 27.1], 2: [25.25, 6.6], 3: [25.25, 6.6] });
    for (const width of [2, 3.5]) {
      const img = rasteriseLandmarks(pts, {
        size,
        lineWidth: width,
        parts: [line([0, 1], [1, 0, 0]), line([2, 3], [0, 1, 0])],
      });
      for (let r = 0; r < size; r++)
        for (let c = 0; c < size; c++) {
          const [px, py] = [c + 0.5, r + 0.5];
          const seg = coverage(segmentDistance(px, py, pts[0]!, pts[1]!, pts[2]!, pts[3]!), width);
          const dot = coverage(Math.hypot(px - pts[4]!, py - pts[5]!), width);
          // The dot is composited over the segment (they do not overlap here, but stay exact).
          const want = [(1 - dot) * seg, dot, 0];
          expect(maxAbsDiff(pixel(img, size, r, c), want)).toBeLessThan(1e-6);
        }
    }
  });

  it('a part takes the max over its segments (joints are not darker or brighter)', () => {
    // A sharp bend and a closed triangle: coverage falls with distance, so the max over segments
    // is the coverage of the distance to the nearest segment.
    const pts = pointsWith({
      0: [5.5, 5.5],
      1: [20.5, 5.5],
      2: [20.5, 20.5],
      3: [6.2, 18.9],
      4: [3.7, 28.1],
      5: [12.6, 29.3],
      6: [9.1, 24.4],
    });
    const grey = [0.5, 0.5, 0.5] as const;
    const parts = [line([0, 1, 2, 3], grey), { ...line([4, 5, 6], grey), closed: true }];
    const img = rasteriseLandmarks(pts, { size, lineWidth: 2, parts, background: 'white' });
    const xy = (i: number): [number, number] => [pts[2 * i]!, pts[2 * i + 1]!];
    const chains = [
      [0, 1, 2, 3],
      [4, 5, 6, 4],
    ];
    for (let r = 0; r < size; r++)
      for (let c = 0; c < size; c++) {
        let value = 1;
        for (const chain of chains) {
          let d = Infinity;
          for (let k = 0; k + 1 < chain.length; k++)
            d = Math.min(
              d,
              segmentDistance(c + 0.5, r + 0.5, ...xy(chain[k]!), ...xy(chain[k + 1]!)),
            );
          value = 0.5 * coverage(d, 2) + (1 - coverage(d, 2)) * value;
        }
        expect(Math.abs(pixel(img, size, r, c)[0]! - value)).toBeLessThan(1e-6);
      }
    // At the bend: 1 px from both segments, coverage 0.5 once (the sum would be 1).
    expect(pixel(img, size, 4, 20)[0]).toBeCloseTo(0.75, 6);
  });

  /** Ink of a line of the given length at `deg` degrees through the centre shifted by (ox, oy). */
  function lineInk(deg: number, ox: number, oy: number, w: number, length: number): number {
    const big = 128;
    const a = (deg * Math.PI) / 180;
    const [hx, hy] = [(Math.cos(a) * length) / 2, (Math.sin(a) * length) / 2];
    const [cx, cy] = [big / 2 + ox, big / 2 + oy];
    const pts = pointsWith({ 0: [cx - hx, cy - hy], 1: [cx + hx, cy + hy] });
    const parts = [line([0, 1], [1, 0, 0])];
    return redInk(rasteriseLandmarks(pts, { size: big, lineWidth: w, parts }));
  }

  /** The two round caps together are one disc of the profile: 2π∫ r·coverage(r) dr. */
  function capsInk(w: number): number {
    const rFull = Math.max(0, w / 2 - 0.5);
    const rEnd = w / 2 + 0.5;
    const ramp = (r: number): number => (rEnd * r * r) / 2 - (r * r * r) / 3;
    return Math.PI * rFull * rFull + 2 * Math.PI * (ramp(rEnd) - ramp(rFull));
  }

  it.each([
    [0, 0, 0, 2],
    [0, 0.3, 0.77, 3],
    [30, 0.25, 0.5, 2],
    [30, 0.9, 0.1, 3],
    [7, 0.13, 0.66, 2],
    [45, 0.37, 0.81, 2],
    [45, 0.5, 0.5, 1.5],
  ])('ink of a long line at %i° (offset %f, %f, width %f) is length x width', (deg, ox, oy, w) => {
    const length = 100;
    const ink = lineInk(deg, ox, oy, w, length);
    // Length x width plus the round caps' ink. At 45° pixel centres project onto the line's
    // normal 0.71 px apart, so the sampled profile's sum swings by up to ±2.5% with the offset;
    // at 0° the sum is exact and at 30° the projections are spread evenly.
    const want = length * w + capsInk(w);
    expect(Math.abs(ink / want - 1)).toBeLessThan(deg === 45 ? 0.03 : 0.003);
  });

  it('at 45° the ink averaged over sub-pixel offsets is unbiased', () => {
    const [length, w, n] = [100, 2, 16];
    let sum = 0;
    // Shift across one 0.71 px period of the centres' projections onto the normal (-1, 1)/√2.
    for (let k = 0; k < n; k++) sum += lineInk(45, -k / n / 2, k / n / 2, w, length);
    expect(Math.abs(sum / n / (length * w + capsInk(w)) - 1)).toBeLessThan(0.003);
  });

  it('the default width is size / 128: a horizontal line is 2 px of ink across at 256, 4 at 512', () => {
    for (const [s, want] of [
      [256, 2],
      [512, 4],
    ] as const) {
      const pts = pointsWith({ 0: [10, s / 2 + 0.5], 1: [s - 10, s / 2 + 0.5] });
      const img = rasteriseLandmarks(pts, { size: s, parts: [line([0, 1], [1, 0, 0])] });
      let across = 0;
      for (let r = 0; r < s; r++) across += img[3 * (r * s + s / 2)]!;
      expect(across).toBeCloseTo(want, 5);
      expect(pixel(img, s, s / 2, s / 2)[0]).toBe(1);
    }
  });

  it('the same face at 512 has about 4x the ink of 256 (twice the length, twice the width)', () => {
    const white = LANDMARK_PARTS.map((p) => ({ ...p, colour: [1, 0, 0] as const }));
    const ink = (s: number): number =>
      redInk(rasteriseLandmarks(meanFacePoints(s), { size: s, parts: white }));
    const ratio = ink(512) / ink(256);
    expect(Math.abs(ratio / 4 - 1)).toBeLessThan(0.05);
  });
});

describe('rasteriseLandmarks: the face parts', () => {
  const size = 256;
  const face = meanFacePoints(size);

  const at = (img: Float32Array, x: number, y: number): number[] =>
    pixel(img, size, Math.floor(y), Math.floor(x));

  it('closed parts are closed, open parts are not', () => {
    const opened: string[] = [];
    for (const part of LANDMARK_PARTS) {
      const first = part.indices[0]!;
      const last = part.indices[part.indices.length - 1]!;
      const mx = (face[2 * first]! + face[2 * last]!) / 2;
      const my = (face[2 * first + 1]! + face[2 * last + 1]!) / 2;
      const img = rasteriseLandmarks(face, { size, parts: [part] });
      const value = at(img, mx, my);
      // Distance from the chord's midpoint to the open polyline (the nose bridge is straight).
      let gap = Infinity;
      for (let k = 0; k + 1 < part.indices.length; k++) {
        const [i, j] = [part.indices[k]!, part.indices[k + 1]!];
        const d = segmentDistance(
          mx,
          my,
          face[2 * i]!,
          face[2 * i + 1]!,
          face[2 * j]!,
          face[2 * j + 1]!,
        );
        gap = Math.min(gap, d);
      }
      if (part.closed) {
        // The pixel's centre is within 0.71 px of the closing segment: coverage >= 0.79.
        for (let k = 0; k < 3; k++) expect(value[k]).toBeGreaterThanOrEqual(0.79 * part.colour[k]!);
        expect(Math.max(...value)).toBeGreaterThan(0);
      } else if (gap > 2.5) {
        expect([part.name, value]).toEqual([part.name, [0, 0, 0]]);
        opened.push(part.name);
      }
    }
    expect(opened).toEqual(['jaw', 'right brow', 'left brow', 'nostrils']);
    expect(LANDMARK_PARTS.filter((p) => p.closed).map((p) => p.name)).toEqual([
      'right eye',
      'left eye',
      'outer lip',
      'inner lip',
    ]);
    // And in the full image: the right eye's closing segment (41 -> 36) is right-eye green.
    const img = rasteriseLandmarks(face, { size });
    const v = at(img, (face[72]! + face[82]!) / 2, (face[73]! + face[83]!) / 2);
    expect(v[0]).toBe(0);
    expect(v[2]).toBe(0);
    expect(v[1]).toBeGreaterThan(0.79);
  });

  it.each(['black', 'white'] as const)(
    'every part colour appears at one of its own points on %s',
    (background) => {
      const bg = background === 'white' ? 1 : 0;
      const img = rasteriseLandmarks(face, { size, background });
      for (const part of LANDMARK_PARTS) {
        const found = part.indices.some((i) => {
          const c0 = Math.floor(face[2 * i]!);
          const r0 = Math.floor(face[2 * i + 1]!);
          for (let r = r0 - 1; r <= r0 + 1; r++)
            for (let c = c0 - 1; c <= c0 + 1; c++)
              if (maxAbsDiff(pixel(img, size, r, c), part.colour) < 1e-6) return true;
          return false;
        });
        expect([part.name, found]).toEqual([part.name, true]);
      }
      expect(pixel(img, size, 3, 3)).toEqual([bg, bg, bg]);
      expect(pixel(img, size, size - 1, size - 1)).toEqual([bg, bg, bg]);
      const values = new Set(img);
      expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...values)).toBeLessThanOrEqual(1);
    },
  );

  it('writes exactly size*size*3 values at the offset and returns the buffer', () => {
    const s = 64;
    const options: LandmarkImageOptions = { size: s, background: 'white' };
    const small = meanFacePoints(s);
    const alone = rasteriseLandmarks(small, options);
    const n = s * s * 3;
    const offset = 37;
    const buffer = new Float32Array(offset + n + 29).fill(-7);
    expect(rasteriseLandmarks(small, options, buffer, offset)).toBe(buffer);
    expect(Array.from(buffer.subarray(offset, offset + n))).toEqual(Array.from(alone));
    expect(buffer.subarray(0, offset).every((v) => v === -7)).toBe(true);
    expect(buffer.subarray(offset + n).every((v) => v === -7)).toBe(true);
    // Stale contents (a reused batch buffer) do not leak into the next draw.
    buffer.fill(0.5, offset, offset + n);
    rasteriseLandmarks(small, options, buffer, offset);
    expect(Array.from(buffer.subarray(offset, offset + n))).toEqual(Array.from(alone));
    expect(() => rasteriseLandmarks(small, options, buffer, offset + 30)).toThrow(RangeError);
  });

  it('landmarkImageBytes is the image in rounded 8-bit RGB', () => {
    const options = { size };
    const img = rasteriseLandmarks(face, options);
    const bytes = landmarkImageBytes(face, options);
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect(bytes.length).toBe(img.length);
    let wrong = 0;
    for (let i = 0; i < img.length; i++) if (bytes[i] !== Math.round(img[i]! * 255)) wrong++;
    expect(wrong).toBe(0);
    expect(bytes.some((v) => v === 255)).toBe(true);
  });

  it('throws on a non-finite point, naming it; points outside the image are clipped', () => {
    const bad = meanFacePoints(size);
    bad[2 * 40] = Number.NaN;
    expect(() => rasteriseLandmarks(bad, { size })).toThrow(/point 40\b/);
    const inf = meanFacePoints(size);
    inf[2 * 3 + 1] = Number.POSITIVE_INFINITY;
    expect(() => rasteriseLandmarks(inf, { size })).toThrow(/point 3\b/);

    const far = face.map((v, i) => v + (i % 2 === 0 ? 1e6 : -3e5));
    const blank = rasteriseLandmarks(far, { size });
    expect(blank.every((v) => v === 0)).toBe(true);
    // Half the face off the right edge: the left half is drawn as before, nothing wraps around.
    const shifted = face.map((v, i) => (i % 2 === 0 ? v + size / 2 : v));
    const half = rasteriseLandmarks(shifted, { size });
    let ink = 0;
    for (let r = 0; r < size; r++)
      for (let c = 0; c < size / 2; c++) ink += pixel(half, size, r, c).reduce((a, b) => a + b);
    expect(ink).toBe(0);
    expect(half.some((v) => v > 0)).toBe(true);
    const huge = pointsWith({ 0: [-1e7, 100.5], 1: [1e7, 100.5] });
    const across = rasteriseLandmarks(huge, { size, parts: [line([0, 1])] });
    expect(pixel(across, size, 100, 0)).toEqual([1, 1, 1]);
    expect(pixel(across, size, 100, size - 1)).toEqual([1, 1, 1]);
  });
});

describe('flipPoints', () => {
  const size = 256;

  it('is an involution, and the mean face is its own mirror image', () => {
    const rnd = new Float32Array(POINT_COUNT * 2).map((_, i) => ((i * 7919) % 1000) / 3.7 - 10);
    expect(maxAbsDiff(flipPoints(flipPoints(rnd, size), size), rnd)).toBeLessThan(1e-4);
    const face = asymmetricFace(size);
    expect(Array.from(flipPoints(flipPoints(face, size), size))).toEqual(Array.from(face));
    expect(maxAbsDiff(flipPoints(meanFacePoints(size), size), meanFacePoints(size))).toBeLessThan(
      1e-4,
    );
    expect(maxAbsDiff(flipPoints(meanFacePoints(300), 300), meanFacePoints(300))).toBeLessThan(
      1e-4,
    );
  });

  it('rasterising flipped points is the mirrored image (all parts in one colour)', () => {
    const face = asymmetricFace(size);
    const flipped = flipPoints(face, size);
    const white = LANDMARK_PARTS.map((p) => ({ ...p, colour: [1, 1, 1] as const }));
    const direct = rasteriseLandmarks(flipped, { size, parts: white });
    const mirrored = mirrorImage(rasteriseLandmarks(face, { size, parts: white }), size);
    expect(maxAbsDiff(direct, mirrored)).toBeLessThan(1e-5);
    expect(redInk(direct)).toBeGreaterThan(1000);
  });

  it('keeps colours anatomical: the eye on the image left is the right eye after a flip', () => {
    const face = asymmetricFace(size);
    const flipped = flipPoints(face, size);
    const [rightEye, leftEye] = ['right eye', 'left eye'].map((n) =>
      LANDMARK_PARTS.find((p) => p.name === n)!,
    );
    expect(rightEye!.colour).not.toEqual(leftEye!.colour);
    const meanX = (p: Points, indices: readonly number[]): number =>
      indices.reduce((s, i) => s + p[2 * i]!, 0) / indices.length;
    expect(meanX(flipped, rightEye!.indices)).toBeLessThan(meanX(flipped, leftEye!.indices));
    // The original left eye (image right) lands on the image left, drawn in right-eye colour.
    const img = rasteriseLandmarks(flipped, { size });
    const hits = leftEye!.indices.filter((i) => {
      const c = Math.floor(size - face[2 * i]!);
      const r = Math.floor(face[2 * i + 1]!);
      return maxAbsDiff(pixel(img, size, r, c), rightEye!.colour) < 0.25;
    });
    expect(hits.length).toBeGreaterThanOrEqual(4);
  });
});
