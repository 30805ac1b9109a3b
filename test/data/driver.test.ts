import { placement, retargetMap } from '../../src/data/driver/retarget';
import { stampWatermark } from '../../src/data/driver/watermark';
import { mapPoints } from '../../src/data/landmarks/points';
import { meanFacePoints } from '../helpers/meanFace';

describe('retargetMap', () => {
  const person = meanFacePoints(64);
  // A driver whose face is 1.5x bigger and 10 px right, 4 px down of the person's.
  const driver = mapPoints(person, { a: 1.5, b: 0, c: 0, d: 1.5, tx: 10, ty: 4 });

  it("puts the driver's reference onto the person's: same centroid and scale", () => {
    const moved = placement(mapPoints(driver, retargetMap(driver, person)));
    const want = placement(person);
    expect(moved.cx).toBeCloseTo(want.cx, 4);
    expect(moved.cy).toBeCloseTo(want.cy, 4);
    expect(moved.scale).toBeCloseTo(want.scale, 4);
  });

  it("keeps the driver's motion, scaled to the person's size", () => {
    const map = retargetMap(driver, person);
    // The driver's head moves 3 px right in some frame: the person's moves 3 / 1.5 = 2 px.
    const frame = mapPoints(driver, { a: 1, b: 0, c: 0, d: 1, tx: 3, ty: 0 });
    const a = mapPoints(driver, map);
    const b = mapPoints(frame, map);
    for (let i = 0; i < a.length; i += 2) {
      expect(b[i]! - a[i]!).toBeCloseTo(2, 4);
      expect(b[i + 1]! - a[i + 1]!).toBeCloseTo(0, 4);
    }
  });

  it('is the identity for the same geometry', () => {
    const map = retargetMap(person, person);
    expect(map.a).toBeCloseTo(1, 6);
    expect(map.tx).toBeCloseTo(0, 4);
    expect(map.ty).toBeCloseTo(0, 4);
  });
});

test('stampWatermark: white letters on a darkened bottom-left band, the rest untouched', () => {
  const [w, h] = [256, 64];
  const rgb = new Uint8Array(w * h * 3).fill(200);
  stampWatermark(rgb, w, h);
  const at = (x: number, y: number) => rgb[(y * w + x) * 3]!;
  const band = [];
  for (let y = h - 18; y < h; y++) for (let x = 0; x < 140; x++) band.push(at(x, y));
  expect(band.filter((v) => v === 255).length).toBeGreaterThan(100); // letters
  expect(band.filter((v) => v === 50).length).toBeGreaterThan(1000); // darkened to a quarter
  expect(at(200, 10)).toBe(200);
  expect(at(10, 10)).toBe(200);
});
