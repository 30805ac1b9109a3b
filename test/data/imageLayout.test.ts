import { sideBySide } from '../../src/data/imageLayout';

test('sideBySide lays square panels left to right', () => {
  const size = 4;
  const panel = (v: number) => new Uint8Array(size * size * 3).fill(v);
  const out = sideBySide([panel(10), panel(20), panel(30)], size);
  expect([out.width, out.height]).toEqual([3 * size, size]);
  const at = (x: number, y: number) => out.rgb[(y * 3 * size + x) * 3]!;
  expect([at(0, 0), at(3, 0), at(4, 0), at(8, 3), at(11, 3)]).toEqual([10, 10, 20, 30, 30]);
});

test('sideBySide rejects a panel of the wrong size', () => {
  const size = 4;
  const panels = [new Uint8Array(size * size * 3), new Uint8Array(size * size * 3 - 1)];
  expect(() => sideBySide(panels, size)).toThrow(/cell \[0\]\[1\]: 47 bytes, 4x4 RGB needs 48/);
});
