import * as tf from '@tensorflow/tfjs';
import { POINT_COUNT } from '../../src/data/landmarks/points';
import { zoomOut } from '../../src/data/zoomOut';
import { withZoomedCopies } from '../../src/train/zoomedShots';

// Zooming out must move a frame's content and its landmark points together, or fine-tuning on
// the copies would teach G faces that sit off their landmarks.

const SIZE = 32;

beforeAll(async () => {
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
});

/** A dark frame with a bright 4 x 4 square whose corner is at (x, y), and a point at its centre. */
function frameWithSquare(x: number, y: number) {
  const rgb = new Uint8Array(SIZE * SIZE * 3).fill(20);
  for (let row = y; row < y + 4; row++)
    for (let col = x; col < x + 4; col++)
      rgb.fill(250, (row * SIZE + col) * 3, (row * SIZE + col) * 3 + 3);
  const points = new Float32Array(POINT_COUNT * 2);
  for (let i = 0; i < POINT_COUNT; i++) points.set([x + 2, y + 2], i * 2);
  return { rgb, points };
}

/**
 * Brightness-weighted centroid of the pixels above the background within 5 px of (x, y), in
 * continuous pixels (the mirrored border holds reflections of the square further out).
 */
function brightCentroid(rgb: Uint8Array, x: number, y: number): [number, number] {
  let sx = 0;
  let sy = 0;
  let total = 0;
  for (let row = 0; row < SIZE; row++)
    for (let col = 0; col < SIZE; col++) {
      if (Math.abs(col + 0.5 - x) > 5 || Math.abs(row + 0.5 - y) > 5) continue;
      const w = Math.max(0, rgb[(row * SIZE + col) * 3]! - 20);
      sx += w * (col + 0.5);
      sy += w * (row + 0.5);
      total += w;
    }
  return [sx / total, sy / total];
}

test.each([0.75, 0.5])('zoomOut(%p) moves the points where the content moved', (scale) => {
  const { rgb, points } = frameWithSquare(20, 8);
  const zoomed = zoomOut(rgb, points, SIZE, scale);
  // Towards the centre by the scale: (22, 10) -> 16 + (p - 16) * scale.
  const [x, y] = [16 + 6 * scale, 16 - 6 * scale];
  expect(Math.abs(zoomed.points[0]! - x)).toBeLessThan(0.5);
  expect(Math.abs(zoomed.points[1]! - y)).toBeLessThan(0.5);
  const [cx, cy] = brightCentroid(zoomed.rgb, x, y);
  expect(Math.abs(zoomed.points[0]! - cx)).toBeLessThan(0.35);
  expect(Math.abs(zoomed.points[1]! - cy)).toBeLessThan(0.35);
});

test('zoomOut fills the border by mirroring the frame, not with a constant', () => {
  // A horizontal ramp: the mirrored border runs back down the ramp.
  const rgb = new Uint8Array(SIZE * SIZE * 3);
  for (let row = 0; row < SIZE; row++)
    for (let col = 0; col < SIZE; col++)
      rgb.fill(col * 8, (row * SIZE + col) * 3, (row * SIZE + col) * 3 + 3);
  const zoomed = zoomOut(rgb, new Float32Array(POINT_COUNT * 2), SIZE, 0.5).rgb;
  const at = (col: number) => zoomed[(16 * SIZE + col) * 3]!;
  // Left of the frame's own left edge (output column 8) the values rise again, mirrored.
  expect(at(0)).toBeGreaterThan(at(7) + 20);
  expect(at(31)).toBeLessThan(at(24) - 20);
});

test('withZoomedCopies keeps the shots first, then one copy of each per scale', () => {
  const a = frameWithSquare(4, 4);
  const b = frameWithSquare(20, 20);
  const out = withZoomedCopies(
    { frames: [a.rgb, b.rgb], points: [a.points, b.points] },
    SIZE,
    [0.75, 0.5],
  );
  expect(out.frames).toHaveLength(6);
  expect(out.frames[0]).toBe(a.rgb);
  expect(out.frames[1]).toBe(b.rgb);
  expect(out.points[4]).toEqual(zoomOut(a.rgb, a.points, SIZE, 0.5).points);
});
