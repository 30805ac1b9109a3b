import { cropBoxFromPoints, pointsInCrop, type CropBox } from '../../src/data/landmarks/crop';
import { LEFT_EYE, RIGHT_EYE } from '../../src/data/landmarks/parts';
import { centroid, mapPoints, POINT_COUNT, type Points } from '../../src/data/landmarks/points';
import { Random } from '../../src/data/random';
import { synthesiseClip } from '../../src/data/synth/clip';
import { FaceRig, type FaceWarp } from '../../src/data/synth/faceWarp';
import { DEFAULT_MOTION, sampleMotion, type FrameMotion } from '../../src/data/synth/motion';
import { resampleCrop } from '../../src/data/synth/resample';
import type { RgbImage } from '../../src/data/image';
import { loadImagePixels } from '../helpers/images';
import { meanFacePoints } from '../helpers/meanFace';
import { GRACE_HOPPER } from '../helpers/videos';

const PHOTO = 320;
const NEUTRAL: FrameMotion = {
  angle: 0,
  scale: 1,
  dx: 0,
  dy: 0,
  mouth: 0,
  rightEye: 0,
  leftEye: 0,
};

/** The mean face, each point moved to the centre of its pixel (so a 3x3 dot centres on it). */
const frontal = meanFacePoints(PHOTO).map((v) => Math.floor(v) + 0.5);
/** Rolled 20 degrees, smaller, off centre: `down` is no longer the image's y. */
const tilted = (() => {
  const a = (20 * Math.PI) / 180;
  const [c, s, k] = [Math.cos(a), Math.sin(a), 0.8];
  return mapPoints(frontal, {
    a: k * c,
    b: -k * s,
    c: k * s,
    d: k * c,
    tx: 170 - k * (c * 160 - s * 160),
    ty: 150 - k * (s * 160 + c * 160),
  });
})();
/** Inner lips touching, as in most portraits: each lower inner point on its upper partner. */
const shut = (() => {
  const p = Float32Array.from(frontal);
  for (const [upper, lower] of [
    [61, 67],
    [62, 66],
    [63, 65],
  ])
    p[2 * lower! + 1] = p[2 * upper! + 1]!;
  return p;
})();
const FACES: [string, Points][] = [
  ['frontal', frontal],
  ['tilted', tilted],
  ['shut mouth', shut],
];

/** Unit vector from the eyes towards the mouth, computed here independently of FaceRig. */
function downOf(points: Points): [number, number] {
  const [rx, ry] = centroid(points, RIGHT_EYE);
  const [lx, ly] = centroid(points, LEFT_EYE);
  const n = Math.hypot(lx - rx, ly - ry);
  return [-(ly - ry) / n, (lx - rx) / n];
}

/** How far the `lower` points' centroid lies below the `upper` points', along `down`. */
function gap(points: Points, upper: number[], lower: number[], down: [number, number]): number {
  const u = centroid(points, upper);
  const l = centroid(points, lower);
  return (l[0] - u[0]) * down[0] + (l[1] - u[1]) * down[1];
}
const mouthGap = (p: Points, down: [number, number]) => gap(p, [61, 62, 63], [65, 66, 67], down);
const rightLids = (p: Points, down: [number, number]) => gap(p, [37, 38], [40, 41], down);
const leftLids = (p: Points, down: [number, number]) => gap(p, [43, 44], [46, 47], down);

const EXTREME: FrameMotion = {
  angle: DEFAULT_MOTION.rotation,
  scale: 1 + DEFAULT_MOTION.scale,
  dx: DEFAULT_MOTION.translation,
  dy: -DEFAULT_MOTION.translation,
  mouth: 1,
  rightEye: 1,
  leftEye: 1,
};

function randomMotion(random: Random): FrameMotion {
  const r = () => random.uniform(-1, 1);
  return {
    angle: r() * DEFAULT_MOTION.rotation,
    scale: 1 + r() * DEFAULT_MOTION.scale,
    dx: r() * DEFAULT_MOTION.translation,
    dy: r() * DEFAULT_MOTION.translation,
    mouth: random.next(),
    rightEye: random.next(),
    leftEye: random.next(),
  };
}

/** d sourceOf / d (x, y) by central differences: [dsx/dx, dsx/dy, dsy/dx, dsy/dy]. */
function numericJacobian(warp: FaceWarp, x: number, y: number, h = 1e-3): number[] {
  const [ax, ay] = warp.sourceOf(x + h, y);
  const [bx, by] = warp.sourceOf(x - h, y);
  const [cx, cy] = warp.sourceOf(x, y + h);
  const [dx, dy] = warp.sourceOf(x, y - h);
  return [(ax - bx) / (2 * h), (cx - dx) / (2 * h), (ay - by) / (2 * h), (cy - dy) / (2 * h)];
}
const det = (j: number[]) => j[0]! * j[3]! - j[1]! * j[2]!;

test('forwardPoints is the exact inverse of sourceOf: backward(forward(p)) = p to 1e-3 px', () => {
  const random = new Random(1);
  let worst = 0;
  let moved = 0;
  for (const [, face] of FACES) {
    const rig = new FaceRig(face);
    for (let i = 0; i < 30; i++) {
      const warp = rig.warp(i === 0 ? EXTREME : randomMotion(random));
      const out = warp.forwardPoints(rig.points);
      for (let k = 0; k < POINT_COUNT; k++) {
        const [sx, sy] = warp.sourceOf(out[2 * k]!, out[2 * k + 1]!);
        worst = Math.max(
          worst,
          Math.abs(sx - rig.points[2 * k]!),
          Math.abs(sy - rig.points[2 * k + 1]!),
        );
        moved = Math.max(
          moved,
          Math.hypot(out[2 * k]! - face[2 * k]!, out[2 * k + 1]! - face[2 * k + 1]!),
        );
      }
    }
  }
  expect(worst).toBeLessThan(1e-3);
  expect(moved).toBeGreaterThan(10); // the warps are not trivially the identity
});

/** A black photo with a 3x3 white dot centred on each point (which lie on pixel centres). */
function dotPhoto(points: Points, size: number): RgbImage {
  const rgb = new Uint8Array(size * size * 3);
  for (let k = 0; k < POINT_COUNT; k++) {
    const cx = Math.floor(points[2 * k]!);
    const cy = Math.floor(points[2 * k + 1]!);
    for (let y = cy - 1; y <= cy + 1; y++)
      for (let x = cx - 1; x <= cx + 1; x++)
        rgb.fill(255, (y * size + x) * 3, (y * size + x) * 3 + 3);
  }
  return { rgb, width: size, height: size };
}

/**
 * The lit region (value > 0) connected to the pixel under (x, y), as the intensity-weighted
 * centroid of its pixel centres and the set of its pixels; null if that pixel is dark.
 */
function blobAt(frame: Uint8Array, size: number, x: number, y: number) {
  const start = Math.floor(y) * size + Math.floor(x);
  if (x < 0 || y < 0 || x >= size || y >= size || frame[start * 3]! === 0) return null;
  const seen = new Set([start]);
  const stack = [start];
  let [sum, sx, sy] = [0, 0, 0];
  while (stack.length > 0) {
    const i = stack.pop()!;
    const [px, py] = [i % size, Math.floor(i / size)];
    const v = frame[i * 3]!;
    sum += v;
    sx += v * (px + 0.5);
    sy += v * (py + 0.5);
    for (const [nx, ny] of [
      [px - 1, py],
      [px + 1, py],
      [px, py - 1],
      [px, py + 1],
    ] as const) {
      const j = ny * size + nx;
      if (nx >= 0 && ny >= 0 && nx < size && ny < size && !seen.has(j) && frame[j * 3]! > 0) {
        seen.add(j);
        stack.push(j);
      }
    }
  }
  return { x: sx / sum, y: sy / sum, pixels: seen };
}

test('pixels and points move together: painted landmark dots land on the returned points', () => {
  const size = 256;
  const clip = synthesiseClip(dotPhoto(frontal, PHOTO), frontal, {
    frames: 40,
    size,
    seed: 3,
    motion: { mouth: 1, blinkInterval: 0.6, rotation: 0.25, translation: 0.08 },
  });
  const rig = new FaceRig(frontal);
  const scale = clip.cropBox.size / size;
  let checked = 0;
  let worst = 0;
  clip.frames.forEach((frame, t) => {
    const points = clip.points[t]!;
    const warp = rig.warp(clip.motion[t]!);
    for (let k = 0; k < POINT_COUNT; k++) {
      const [x, y] = [points[2 * k]!, points[2 * k + 1]!];
      const blob = blobAt(frame, size, x, y);
      if (!blob || blob.pixels.size < 4) continue;
      // Skip dots squeezed into a neighbour's (closing eyes, lip corners).
      const merged = Array.from({ length: POINT_COUNT }, (_, j) => j).some(
        (j) =>
          j !== k &&
          blob.pixels.has(Math.floor(points[2 * j + 1]!) * size + Math.floor(points[2 * j]!)),
      );
      if (merged) continue;
      // Skip dots the warp bends (its Jacobian changes by over 15% across the dot's image): there
      // a dot's centroid is not its centre's image (off by about f'' a^2 / 2), whatever the points.
      const X = clip.cropBox.left + x * scale;
      const Y = clip.cropBox.top + y * scale;
      const j = numericJacobian(warp, X, Y);
      const norm = Math.max(...j.map(Math.abs));
      // The dot (1.5 px from its centre in the photo) reaches 1.5 / (least singular value) here.
      const frob = j.reduce((sum, v) => sum + v * v, 0);
      const area = Math.abs(det(j));
      const least = Math.sqrt((frob - Math.sqrt(Math.max(0, frob * frob - 4 * area * area))) / 2);
      const reach = 1.5 / least;
      const [l, r, u, d] = [
        numericJacobian(warp, X - reach, Y),
        numericJacobian(warp, X + reach, Y),
        numericJacobian(warp, X, Y - reach),
        numericJacobian(warp, X, Y + reach),
      ];
      const bend = Math.max(
        ...j.map((_, i) => Math.max(Math.abs(r[i]! - l[i]!), Math.abs(d[i]! - u[i]!))),
      );
      if (bend > 0.15 * norm) continue;
      checked++;
      worst = Math.max(worst, Math.hypot(blob.x - x, blob.y - y));
    }
  });
  expect(clip.motion.some((m) => m.rightEye === 1)).toBe(true);
  expect(Math.max(...clip.motion.map((m) => m.mouth))).toBeGreaterThan(0.8);
  expect(checked).toBeGreaterThan(0.7 * 40 * POINT_COUNT);
  expect(worst).toBeLessThan(0.35);
});

test('the backward map is a diffeomorphism at the largest motion: det J > 0 on a dense grid', () => {
  for (const [name, face] of FACES) {
    const warp = new FaceRig(face).warp(
      name === 'tilted' ? { ...EXTREME, angle: -EXTREME.angle } : EXTREME,
    );
    const box = cropBoxFromPoints(face);
    let minDet = Infinity;
    for (let y = box.top; y < box.top + box.size; y += 0.5)
      for (let x = box.left; x < box.left + box.size; x += 0.5)
        minDet = Math.min(minDet, det(numericJacobian(warp, x, y)));
    expect(minDet).toBeGreaterThan(0);
    // The analytic determinant (1 - d phi / d s, what Newton divides by) agrees.
    const random = new Random(2);
    for (let i = 0; i < 300; i++) {
      const x = box.left + random.next() * box.size;
      const y = box.top + random.next() * box.size;
      const want = det(numericJacobian(warp, x, y, 1e-4));
      expect(Math.abs(warp.jacobianDeterminant(x, y) - want)).toBeLessThan(
        1e-3 * Math.max(1, want),
      );
    }
  }
});

test('the mouth opens with the mouth parameter; the lids close with the eye parameters', () => {
  const opened: number[] = [];
  for (const [, face] of FACES) {
    const rig = new FaceRig(face);
    const down = downOf(face);
    const at = (m: Partial<FrameMotion>) =>
      rig.warp({ ...NEUTRAL, ...m }).forwardPoints(rig.points);
    const levels = [0, 0.25, 0.5, 0.75, 1];
    const mouth = levels.map((v) => mouthGap(at({ mouth: v }), down));
    for (let i = 1; i < levels.length; i++) expect(mouth[i]!).toBeGreaterThan(mouth[i - 1]! + 1);
    const width = Math.hypot(face[2 * 54]! - face[2 * 48]!, face[2 * 54 + 1]! - face[2 * 48 + 1]!);
    expect(mouth[4]! - mouth[0]!).toBeGreaterThan(0.3 * width);
    // The opening is proportional to the parameter (and, below, to the mouth's width).
    for (let i = 1; i < levels.length; i++)
      expect((mouth[i]! - mouth[0]!) / levels[i]!).toBeCloseTo(mouth[4]! - mouth[0]!, 1);
    opened.push((mouth[4]! - mouth[0]!) / width);
    // The jaw drops: lower lip and chin go down, the upper lip does not.
    const open = at({ mouth: 1 });
    const along = (p: Points, i: number) => p[2 * i]! * down[0] + p[2 * i + 1]! * down[1];
    expect(along(open, 66) - along(rig.points, 66)).toBeGreaterThan(0.1 * width);
    expect(along(open, 8) - along(rig.points, 8)).toBeGreaterThan(0.05 * width);
    expect(along(open, 62) - along(rig.points, 62)).toBeLessThanOrEqual(0);

    const right = levels.map((v) => rightLids(at({ rightEye: v }), down));
    for (let i = 1; i < levels.length; i++) expect(right[i]!).toBeLessThan(right[i - 1]! - 0.5);
    expect(right[4]!).toBeLessThan(0.1 * right[0]!);
    const left = levels.map((v) => leftLids(at({ leftEye: v }), down));
    expect(left[4]!).toBeLessThan(0.1 * left[0]!);
    // One eye's closure leaves the other eye alone.
    expect(Math.abs(leftLids(at({ rightEye: 1 }), down) - left[0]!)).toBeLessThan(1e-3);
  }
  for (const o of opened) expect(o).toBeCloseTo(opened[0]!, 2);
});

test('sampled motion starts neutral, stays in range, and changes smoothly', () => {
  const { rotation, scale, translation, mouth, fps } = DEFAULT_MOTION;
  const motion = sampleMotion(750, new Random(11));
  expect(motion[0]).toEqual(NEUTRAL);
  // Head terms are sinusoids of at most 0.6 Hz: a frame moves them at most 2 pi 0.6 / fps.
  const headStep = (2 * Math.PI * 0.6) / fps + 1e-9;
  const limits: [keyof FrameMotion, number, number][] = [
    ['angle', rotation, rotation * headStep],
    ['scale', scale, scale * headStep],
    ['dx', translation, translation * headStep],
    ['dy', translation, translation * headStep],
  ];
  for (const [key, range, step] of limits)
    motion.forEach((m, t) => {
      const centre = key === 'scale' ? 1 : 0;
      expect(Math.abs(m[key] - centre)).toBeLessThanOrEqual(range + 1e-12);
      if (t > 0) expect(Math.abs(m[key] - motion[t - 1]![key])).toBeLessThanOrEqual(step);
    });
  for (let t = 1; t < motion.length; t++) {
    const [a, b] = [motion[t - 1]!, motion[t]!];
    expect(b.mouth).toBeGreaterThanOrEqual(0);
    expect(b.mouth).toBeLessThanOrEqual(mouth);
    expect(Math.abs(b.mouth - a.mouth)).toBeLessThan(0.6);
    expect(Math.abs(b.rightEye - a.rightEye)).toBeLessThan(0.75);
    expect(b.leftEye).toBe(b.rightEye);
  }
  // Syllables: the mouth peaks a few times a second (4 Hz +-25%, fewer in pauses).
  let peaks = 0;
  for (let t = 1; t + 1 < motion.length; t++) {
    const m = motion[t]!.mouth;
    if (m > 0.1 && m > motion[t - 1]!.mouth && m >= motion[t + 1]!.mouth) peaks++;
  }
  const seconds = motion.length / fps;
  expect(peaks / seconds).toBeGreaterThan(1.5);
  expect(peaks / seconds).toBeLessThan(5.5);
  // Blinks: short events, 3 frames at least half shut, every few seconds.
  const blinks: number[][] = [];
  motion.forEach((m, t) => {
    if (m.rightEye === 0) return;
    if (t > 0 && motion[t - 1]!.rightEye > 0) blinks[blinks.length - 1]!.push(m.rightEye);
    else blinks.push([m.rightEye]);
  });
  expect(blinks.length).toBeGreaterThanOrEqual(seconds / (1.5 * DEFAULT_MOTION.blinkInterval) - 1);
  expect(blinks.length).toBeLessThanOrEqual(seconds / (0.5 * DEFAULT_MOTION.blinkInterval) + 1);
  for (const blink of blinks) {
    expect(Math.max(...blink)).toBe(1);
    const shut = blink.filter((v) => v >= 0.5).length;
    expect(shut).toBeGreaterThanOrEqual(2);
    expect(shut).toBeLessThanOrEqual(4);
  }
});

test('the same seed gives the same clip, another seed another', () => {
  const photo = dotPhoto(frontal, PHOTO);
  const options = { frames: 12, size: 64, motion: { mouth: 1, blinkInterval: 0.3 } };
  const a = synthesiseClip(photo, frontal, { ...options, seed: 5 });
  const b = synthesiseClip(photo, frontal, { ...options, seed: 5 });
  const c = synthesiseClip(photo, frontal, { ...options, seed: 6 });
  expect(b.motion).toEqual(a.motion);
  a.frames.forEach((f, t) => expect(Buffer.compare(f, b.frames[t]!)).toBe(0));
  a.points.forEach((p, t) => expect(Array.from(b.points[t]!)).toEqual(Array.from(p)));
  expect(c.motion).not.toEqual(a.motion);
  // Frame 0 is neutral whatever the seed; the frames after it differ.
  expect(Buffer.compare(c.frames[0]!, a.frames[0]!)).toBe(0);
  expect(c.frames.slice(1).some((f, t) => Buffer.compare(f, a.frames[t + 1]!) !== 0)).toBe(true);
});

/** Bilinear read between pixel centres with clamp-to-edge, written out plainly. */
function referenceCrop(photo: RgbImage, box: CropBox, size: number): Uint8Array {
  const out = new Uint8Array(size * size * 3);
  const at = (x: number, y: number, ch: number) => {
    const cx = Math.min(photo.width - 1, Math.max(0, x));
    const cy = Math.min(photo.height - 1, Math.max(0, y));
    return photo.rgb[(cy * photo.width + cx) * 3 + ch]!;
  };
  for (let r = 0; r < size; r++)
    for (let c = 0; c < size; c++) {
      // Pixel (c, r)'s centre in photo coordinates, then in "pixel index" units.
      const u = box.left + ((c + 0.5) * box.size) / size - 0.5;
      const v = box.top + ((r + 0.5) * box.size) / size - 0.5;
      const i = Math.floor(u);
      const j = Math.floor(v);
      const [fu, fv] = [u - i, v - j];
      for (let ch = 0; ch < 3; ch++) {
        const value =
          (1 - fu) * (1 - fv) * at(i, j, ch) +
          fu * (1 - fv) * at(i + 1, j, ch) +
          (1 - fu) * fv * at(i, j + 1, ch) +
          fu * fv * at(i + 1, j + 1, ch);
        out[(r * size + c) * 3 + ch] = Math.round(value);
      }
    }
  return out;
}

test('with no motion a frame is the plain bilinear crop of the photo', async () => {
  const { data, width, height } = await loadImagePixels(GRACE_HOPPER);
  const photo = { rgb: data, width, height };
  // The mean face over Grace Hopper's (box about left 126, top 92, size 280).
  const points = mapPoints(meanFacePoints(560), { a: 1, b: 0, c: 0, d: 1, tx: -14, ty: -48 });
  const clip = synthesiseClip(photo, points, { frames: 1, size: 200, seed: 9 });
  const want = referenceCrop(photo, clip.cropBox, 200);
  let worst = 0;
  for (let i = 0; i < want.length; i++)
    worst = Math.max(worst, Math.abs(clip.frames[0]![i]! - want[i]!));
  expect(worst).toBeLessThanOrEqual(1);
  const expected = pointsInCrop(points, clip.cropBox, 200);
  for (let i = 0; i < expected.length; i++)
    expect(clip.points[0]![i]!).toBeCloseTo(expected[i]!, 3);

  // A box past the photo's corner: clamp-to-edge there, and the zero-motion warp is the identity.
  const box = { left: -40, top: height - 100, size: 150 };
  const warp = new FaceRig(points).warp(NEUTRAL);
  const got = resampleCrop(photo, box, 120, warp);
  const ref = referenceCrop(photo, box, 120);
  for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(got[i]! - ref[i]!));
  expect(worst).toBeLessThanOrEqual(1);
  // At the crop's own scale the pixels are copied exactly.
  const same = resampleCrop(photo, { left: 100, top: 50, size: 64 }, 64);
  for (let r = 0; r < 64; r++) {
    const from = ((50 + r) * width + 100) * 3;
    expect(
      Buffer.compare(same.subarray(r * 192, r * 192 + 192), data.subarray(from, from + 192)),
    ).toBe(0);
  }
});
