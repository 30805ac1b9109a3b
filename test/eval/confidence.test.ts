import { meanInterval, tQuantile975 } from '../../src/eval/confidence';

test.each([
  [1, 12.706],
  [2, 4.303],
  [10, 2.228],
  [30, 2.042],
  [40, 2.021],
  [60, 2.0],
  [120, 1.98],
])('t(0.975, %i) is %f as tabulated', (df, expected) => {
  expect(tQuantile975(df)).toBeCloseTo(expected, 3);
});

test('the 95% interval of a known sample', () => {
  // mean 3, sample sd sqrt(2.5); half width t(4) * sd / sqrt(5) = 2.776 * 0.7071 = 1.963
  const r = meanInterval([1, 2, 3, 4, 5]);
  expect(r.mean).toBe(3);
  expect(r.halfWidth).toBeCloseTo(2.776 * Math.sqrt(2.5 / 5), 6);
  expect(r.n).toBe(5);
});

test('one value has a mean but no interval; none has neither', () => {
  expect(meanInterval([0.5])).toEqual({ mean: 0.5, n: 1 });
  expect(meanInterval([]).mean).toBeNaN();
  expect(() => tQuantile975(0)).toThrow();
});
