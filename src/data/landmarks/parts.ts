/**
 * The parts of the 68-point layout as the landmark image draws them (docs/method.md, Inputs): one
 * polyline and one colour per part; eyes and lips are closed loops.
 */
export interface LandmarkPart {
  name: string;
  /** Point indices in drawing order. */
  indices: readonly number[];
  closed: boolean;
  /** RGB in [0, 1]. */
  colour: readonly [number, number, number];
}

const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

export const LANDMARK_PARTS: readonly LandmarkPart[] = [
  { name: 'jaw', indices: range(0, 16), closed: false, colour: [0.9, 0.9, 0.9] },
  { name: 'right brow', indices: range(17, 21), closed: false, colour: [1, 0.5, 0] },
  { name: 'left brow', indices: range(22, 26), closed: false, colour: [1, 1, 0] },
  { name: 'nose bridge', indices: range(27, 30), closed: false, colour: [0, 0, 1] },
  { name: 'nostrils', indices: range(31, 35), closed: false, colour: [0, 0.6, 1] },
  { name: 'right eye', indices: range(36, 41), closed: true, colour: [0, 1, 0] },
  { name: 'left eye', indices: range(42, 47), closed: true, colour: [0, 1, 0.6] },
  { name: 'outer lip', indices: range(48, 59), closed: true, colour: [1, 0, 0] },
  { name: 'inner lip', indices: range(60, 67), closed: true, colour: [1, 0, 1] },
];

export const JAW = range(0, 16);
export const RIGHT_EYE = range(36, 41);
export const LEFT_EYE = range(42, 47);
export const OUTER_LIP = range(48, 59);
export const INNER_LIP = range(60, 67);

/**
 * MIRROR[i] is the point that takes i's role after a horizontal flip (the left eye's outer corner
 * becomes the right eye's outer corner, ...), so a flipped face keeps each part's colour on the
 * anatomically right part.
 */
export const MIRROR: readonly number[] = (() => {
  const pairs: [number, number][] = [];
  for (let i = 0; i <= 7; i++) pairs.push([i, 16 - i]); // jaw
  for (let i = 0; i < 5; i++) pairs.push([17 + i, 26 - i]); // brows
  pairs.push([31, 35], [32, 34]); // nostrils
  pairs.push([36, 45], [37, 44], [38, 43], [39, 42], [40, 47], [41, 46]); // eyes
  pairs.push([48, 54], [49, 53], [50, 52], [55, 59], [56, 58]); // outer lip
  pairs.push([60, 64], [61, 63], [65, 67]); // inner lip
  const mirror = range(0, 67);
  for (const [a, b] of pairs) {
    mirror[a] = b;
    mirror[b] = a;
  }
  return mirror;
})();
