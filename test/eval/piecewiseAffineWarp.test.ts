import { warpToLandmarks } from '../../src/eval/piecewiseAffineWarp';
import { meanFacePoints } from '../helpers/meanFace';

const SIZE = 64;
/** The nose tip in the 68-point layout: inside the face, away from the border points. */
const NOSE_TIP = 30;

function noise(size: number, seed: number): Uint8Array {
  return Uint8Array.from(
    { length: size * size * 3 },
    (_, i) => ((i + 1) * 2654435761 + seed) % 251,
  );
}

const pixel = (rgb: Uint8Array, x: number, y: number) =>
  Array.from(rgb.subarray((y * SIZE + x) * 3, (y * SIZE + x) * 3 + 3));

test('equal landmarks give the frame back unchanged', () => {
  const frame = noise(SIZE, 1);
  const points = meanFacePoints(SIZE);
  expect(warpToLandmarks(frame, SIZE, points, points)).toEqual(frame);
});

test('landmarks moved together move the face with them, pixel for pixel', () => {
  const frame = noise(SIZE, 2);
  const from = meanFacePoints(SIZE);
  const to = from.map((v, i) => v + (i % 2 === 0 ? 3 : -2));
  const out = warpToLandmarks(frame, SIZE, from, to);
  // Inside the landmarks' hull every triangle is translated by (3, -2) exactly.
  const [nx, ny] = [Math.floor(from[2 * NOSE_TIP]!), Math.floor(from[2 * NOSE_TIP + 1]!)];
  for (let dy = -3; dy <= 3; dy++)
    for (let dx = -3; dx <= 3; dx++)
      expect(pixel(out, nx + dx + 3, ny + dy - 2)).toEqual(pixel(frame, nx + dx, ny + dy));
});

test('a landmark lands where the target puts it, whatever the rest of the face does', () => {
  const from = meanFacePoints(SIZE);
  // A dot on the source's nose tip, placed at a pixel centre.
  const [sx, sy] = [30, 36];
  from[2 * NOSE_TIP] = sx + 0.5;
  from[2 * NOSE_TIP + 1] = sy + 0.5;
  const frame = new Uint8Array(SIZE * SIZE * 3).fill(20);
  frame.set([250, 250, 250], (sy * SIZE + sx) * 3);
  // The target face is smaller and off-centre; its nose tip on another pixel centre.
  const to = from.map((v, i) => (i % 2 === 0 ? 0.8 * v + 4 : 0.8 * v + 9));
  const [tx, ty] = [27, 38];
  to[2 * NOSE_TIP] = tx + 0.5;
  to[2 * NOSE_TIP + 1] = ty + 0.5;
  const out = warpToLandmarks(frame, SIZE, from, to);
  expect(pixel(out, tx, ty)).toEqual([250, 250, 250]);
  // Nowhere else is the dot whole: the warp moved it, it did not copy it.
  let brightest = 0;
  for (let y = 0; y < SIZE; y++)
    for (let x = 0; x < SIZE; x++)
      if (x !== tx || y !== ty) brightest = Math.max(brightest, pixel(out, x, y)[0]!);
  expect(brightest).toBeLessThan(250);
});

test('every output pixel is drawn, also with landmarks past the frame', () => {
  const frame = new Uint8Array(SIZE * SIZE * 3).fill(200);
  const from = meanFacePoints(SIZE);
  const to = from.map((v) => 2.2 * v - 40);
  expect(Array.from(to).some((v) => v < 0 || v > SIZE)).toBe(true);
  const out = warpToLandmarks(frame, SIZE, from, to);
  expect(Math.min(...out)).toBe(200);
});
