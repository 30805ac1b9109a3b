import { baselineOutputs, meanShot, nearestShot } from '../../src/eval/baselines';
import { meanFacePoints } from '../helpers/meanFace';

const shifted = (dx: number) => meanFacePoints(64).map((v, i) => (i % 2 === 0 ? v + dx : v));

test('copy-nearest-shot picks the shot whose landmarks are closest', () => {
  const shots = [shifted(-6), shifted(0), shifted(5)];
  expect(nearestShot(shots, shifted(4))).toBe(2);
  expect(nearestShot(shots, shifted(-1))).toBe(1);
  expect(nearestShot(shots, shifted(-9))).toBe(0);
});

test('mean-shot is the rounded pixel mean', () => {
  expect(Array.from(meanShot([Uint8Array.of(0, 10, 255), Uint8Array.of(1, 20, 255)]))).toEqual([
    1, 15, 255,
  ]);
});

test('both baselines give one frame per target', () => {
  const frames = [Uint8Array.of(1, 2, 3), Uint8Array.of(7, 8, 9)];
  const out = baselineOutputs({ frames, points: [shifted(0), shifted(8)] }, [
    shifted(7),
    shifted(1),
  ]);
  expect(out['copy-nearest-shot']).toEqual([frames[1], frames[0]]);
  expect(out['mean-shot']).toEqual([Uint8Array.of(4, 5, 6), Uint8Array.of(4, 5, 6)]);
});
