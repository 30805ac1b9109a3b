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

test('every baseline gives one frame per target', () => {
  const size = 64;
  const frames = [1, 7].map((v) => new Uint8Array(size * size * 3).fill(v));
  frames[1]![0] = 9;
  const out = baselineOutputs({ frames, points: [shifted(0), shifted(8)] }, [
    shifted(7),
    shifted(1),
  ]);
  expect(out['copy-nearest-shot']).toEqual([frames[1], frames[0]]);
  const mean = new Uint8Array(size * size * 3).fill(4);
  mean[0] = 5; // (1 + 9) / 2
  expect(out['mean-shot']).toEqual([mean, mean]);
  expect(out['warp-nearest-shot']).toHaveLength(2);
});

test('warp-nearest-shot is the nearest shot itself where the target has its landmarks', () => {
  const size = 64;
  const frames = [3, 5].map((seed) =>
    Uint8Array.from({ length: size * size * 3 }, (_, i) => (i * seed) % 256),
  );
  const points = [shifted(0), shifted(8)];
  const out = baselineOutputs({ frames, points }, [shifted(8), shifted(0)]);
  expect(out['warp-nearest-shot']).toEqual([frames[1], frames[0]]);
});
