import { EigenvalueDecomposition, Matrix, inverse } from 'ml-matrix';
import { Random } from '../../../src/data/random';
import { UserError } from '../../../src/errors';
import {
  FeatureMoments,
  frechetDistance,
  symmetricEigenvalues,
  traceSqrtProduct,
  type GaussianStats,
} from '../../../src/eval/fid/frechet';

/** n rows of d correlated, shifted features (x = z M + offset), as float32. */
function featureRows(n: number, d: number, seed: number, offset = 0.5): Float32Array {
  const random = new Random(seed);
  const mix = Array.from({ length: d * d }, () => random.normal() / Math.sqrt(d));
  const rows = new Float32Array(n * d);
  for (let r = 0; r < n; r++) {
    const z = Array.from({ length: d }, () => random.normal());
    for (let j = 0; j < d; j++) {
      let v = offset;
      for (let k = 0; k < d; k++) v += z[k]! * mix[k * d + j]!;
      rows[r * d + j] = v;
    }
  }
  return rows;
}

function statsOf(rows: Float32Array, d: number): GaussianStats {
  const moments = new FeatureMoments(d);
  moments.add(rows);
  return moments.stats();
}

function gaussian(mean: number[], covariance: number[][], count = 10): GaussianStats {
  return {
    count,
    dim: mean.length,
    mean: Float64Array.from(mean),
    covariance: Float64Array.from(covariance.flat()),
  };
}

function trace(c: Float64Array, d: number): number {
  let t = 0;
  for (let i = 0; i < d; i++) t += c[i * d + i]!;
  return t;
}

/** The brief's formulation with ml-matrix: S = sqrt(Σ1) by eigendecomposition, Σ sqrt λ(S Σ2 S). */
function traceSqrtByEigenvectors(a: Float64Array, b: Float64Array, d: number): number {
  const A = Matrix.from1DArray(d, d, Array.from(a));
  const B = Matrix.from1DArray(d, d, Array.from(b));
  const eigA = new EigenvalueDecomposition(A, { assumeSymmetric: true });
  const V = eigA.eigenvectorMatrix;
  const roots = eigA.realEigenvalues.map((l) => Math.sqrt(Math.max(l, 0)));
  const S = V.mmul(Matrix.diag(roots)).mmul(V.transpose());
  const inner = S.mmul(B).mmul(S);
  const symmetric = inner.add(inner.transpose()).div(2);
  const eig = new EigenvalueDecomposition(symmetric, { assumeSymmetric: true });
  return eig.realEigenvalues.reduce((s, l) => s + Math.sqrt(Math.max(l, 0)), 0);
}

/** tr sqrtm(Σ1 Σ2) of the non-symmetric product by the Denman–Beavers iteration. */
function traceSqrtByDenmanBeavers(a: Float64Array, b: Float64Array, d: number): number {
  const product = Matrix.from1DArray(d, d, Array.from(a)).mmul(
    Matrix.from1DArray(d, d, Array.from(b)),
  );
  let y = product;
  let z = Matrix.eye(d);
  for (let k = 0; k < 50; k++) {
    const nextY = y.clone().add(inverse(z)).div(2);
    const nextZ = z.clone().add(inverse(y)).div(2);
    y = nextY;
    z = nextZ;
  }
  return y.trace();
}

/** Six 3-d feature rows, exact in float32: the rows the numpy and pytorch-fid figures below were computed on. */
const SIX_ROWS = Float32Array.from(
  [
    [0.5, 1.25, 0.0],
    [1.0, 0.75, 0.25],
    [0.125, 2.0, 0.5],
    [0.75, 0.5, 1.5],
    [1.5, 1.0, 0.375],
    [0.25, 0.0625, 0.875],
  ].flat(),
);

describe('FeatureMoments', () => {
  test('mean and covariance as numpy.mean and numpy.cov(rowvar=False) (unbiased)', () => {
    // The rows are exact in float32; numbers from numpy 2.4 on the same rows (see frechet
    // reference below).
    const rows = SIX_ROWS.slice();
    const stats = statsOf(rows, 3);
    expect(stats.count).toBe(6);
    expect(stats.dim).toBe(3);
    const mean = [0.6875, 0.9270833333333334, 0.5833333333333334];
    const cov = [
      0.2609375, -0.06171875, -0.03750000000000001, -0.06171875, 0.4444010416666666,
      -0.17552083333333335, -0.03750000000000001, -0.17552083333333335, 0.2854166666666667,
    ];
    mean.forEach((m, i) => expect(stats.mean[i]).toBeCloseTo(m, 15));
    cov.forEach((c, i) => expect(stats.covariance[i]).toBeCloseTo(c, 15));
  });

  test('streaming over batches of any split gives the one-shot statistics to 1e-12', () => {
    const d = 16;
    const rows = featureRows(200, d, 3);
    const once = statsOf(rows, d);
    const streamed = new FeatureMoments(d);
    let at = 0;
    for (const n of [1, 0, 63, 64, 65, 7]) {
      streamed.add(rows.subarray(at * d, (at + n) * d));
      at += n;
    }
    const parts = streamed.stats();
    expect(parts.count).toBe(200);
    const scale = Math.max(...once.covariance.map(Math.abs));
    for (let i = 0; i < d; i++)
      expect(Math.abs(parts.mean[i]! - once.mean[i]!)).toBeLessThan(1e-12);
    for (let i = 0; i < d * d; i++)
      expect(Math.abs(parts.covariance[i]! - once.covariance[i]!) / scale).toBeLessThan(1e-12);
  });

  test('a large common offset does not cancel the covariance (sums are about the first row)', () => {
    const d = 4;
    const rows = featureRows(50, d, 4, 0);
    const shifted = rows.map((v) => v + 1000);
    const a = statsOf(rows, d);
    const b = statsOf(shifted, d);
    for (let i = 0; i < d * d; i++) expect(b.covariance[i]).toBeCloseTo(a.covariance[i]!, 4);
  });

  test('fewer than 2 rows: NaN covariance, the count says why; rows must be whole', () => {
    const m = new FeatureMoments(2);
    expect(m.stats().count).toBe(0);
    m.add(Float32Array.from([1, 2]));
    const one = m.stats();
    expect(one.count).toBe(1);
    expect(Array.from(one.mean)).toEqual([1, 2]);
    expect(Number.isNaN(one.covariance[0]!)).toBe(true);
    expect(() => m.add(new Float32Array(3))).toThrow(/not whole rows of 2/);
  });
});

describe('frechetDistance', () => {
  test('identical statistics give 0', () => {
    const d = 32;
    const stats = statsOf(featureRows(100, d, 5), d);
    const fid = frechetDistance(stats, stats);
    expect(Math.abs(fid) / trace(stats.covariance, d)).toBeLessThan(1e-9);
  });

  test('1-D: (μ1 − μ2)² + (σ1 − σ2)²', () => {
    const fid = frechetDistance(gaussian([0.3], [[4]]), gaussian([-0.2], [[0.25]]));
    expect(fid).toBeCloseTo(0.5 ** 2 + (2 - 0.5) ** 2, 13);
  });

  test('diagonal covariances: Σ(σ1ᵢ − σ2ᵢ)² + |Δμ|²', () => {
    const v1 = [1, 2.5, 0.01, 9, 0];
    const v2 = [4, 0.5, 0.04, 9, 1];
    const diag = (v: number[]) => v.map((x, i) => v.map((_, j) => (i === j ? x : 0)));
    const fid = frechetDistance(
      gaussian([1, 0, 0, 2, 0], diag(v1)),
      gaussian([0, 0, 1, 2, 0.5], diag(v2)),
    );
    let want = 1 + 1 + 0.25;
    for (let i = 0; i < 5; i++) want += (Math.sqrt(v1[i]!) - Math.sqrt(v2[i]!)) ** 2;
    expect(fid).toBeCloseTo(want, 12);
  });

  test("non-commuting 3x3 covariances: pytorch-fid's value", () => {
    const a = gaussian(
      [0.1, -0.2, 0.3],
      [
        [2.0, 0.6, -0.3],
        [0.6, 1.5, 0.4],
        [-0.3, 0.4, 1.0],
      ],
    );
    const b = gaussian(
      [0.0, 0.25, -0.1],
      [
        [1.0, -0.5, 0.2],
        [-0.5, 2.5, 0.7],
        [0.2, 0.7, 0.8],
      ],
    );
    // pytorch-fid's calculate_frechet_distance (scipy.linalg.sqrtm of Σ1Σ2), run with numpy 2.4
    // and scipy 1.17 on these numbers.
    const pytorchFid = 1.3033291360442716;
    expect(Math.abs(frechetDistance(a, b) - pytorchFid)).toBeLessThan(1e-12);
    expect(Math.abs(frechetDistance(b, a) - pytorchFid)).toBeLessThan(1e-12);
    // And by the Denman–Beavers iteration on the product, written here.
    const byIteration = traceSqrtByDenmanBeavers(a.covariance, b.covariance, 3);
    expect(traceSqrtProduct(a.covariance, b.covariance, 3)).toBeCloseTo(byIteration, 12);
  });

  test('feature rows to FID: pytorch-fid on the same rows', () => {
    const x = SIX_ROWS.slice();
    const y = Float32Array.from(
      [
        [0.0, 1.0, 1.0],
        [2.0, 0.5, 0.25],
        [0.375, 1.5, 0.75],
        [1.25, 0.25, 0.0],
        [0.5, 0.5, 2.25],
        [0.875, 1.75, 0.5],
        [1.0, 0.0, 0.625],
      ].flat(),
    );
    // np.mean / np.cov(rowvar=False) of the rows as float64, then calculate_frechet_distance.
    expect(
      Math.abs(frechetDistance(statsOf(x, 3), statsOf(y, 3)) - 0.23294934536391709),
    ).toBeLessThan(1e-13);
  });

  test('full rank, d = 60: sqrt(Σ1) Σ2 sqrt(Σ1) by ml-matrix eigendecompositions, and Denman–Beavers', () => {
    const d = 60;
    const a = statsOf(featureRows(300, d, 6), d);
    const b = statsOf(featureRows(200, d, 7, 0.3), d);
    const reference = traceSqrtByEigenvectors(a.covariance, b.covariance, d);
    const got = traceSqrtProduct(a.covariance, b.covariance, d);
    expect(Math.abs(got - reference) / reference).toBeLessThan(1e-11);
    const iterated = traceSqrtByDenmanBeavers(a.covariance, b.covariance, d);
    expect(Math.abs(got - iterated) / reference).toBeLessThan(1e-9);
    // The distance is symmetric, whichever covariance is factored.
    const ab = frechetDistance(a, b);
    expect(Math.abs(ab - frechetDistance(b, a)) / ab).toBeLessThan(1e-11);
  });

  test('rank-deficient (fewer vectors than dimensions): ml-matrix eigendecompositions', () => {
    const d = 60;
    const few = statsOf(featureRows(15, d, 8), d); // rank 14
    const many = statsOf(featureRows(100, d, 9, 0.3), d);
    const scale = trace(few.covariance, d) + trace(many.covariance, d);
    for (const [a, b] of [
      [few, many],
      [many, few],
      [few, statsOf(featureRows(25, d, 10), d)],
    ] as const) {
      const reference = traceSqrtByEigenvectors(a.covariance, b.covariance, d);
      const got = traceSqrtProduct(a.covariance, b.covariance, d);
      // Zero eigenvalues come out as ±1e-16 of the largest in either method; their square
      // roots, summed, bound the agreement.
      expect(Math.abs(got - reference) / scale).toBeLessThan(1e-6);
    }
    const fid = frechetDistance(few, many);
    expect(fid).toBeGreaterThan(0);
    expect(Math.abs(fid - frechetDistance(many, few)) / fid).toBeLessThan(1e-6);
  });

  test('a covariance that is all zeros (identical images) has rank 0', () => {
    const zero = gaussian(
      [1, 2],
      [
        [0, 0],
        [0, 0],
      ],
    );
    const other = gaussian(
      [1, 0],
      [
        [4, 1],
        [1, 1],
      ],
    );
    expect(frechetDistance(zero, other)).toBeCloseTo(4 + 5, 13);
  });

  test('fewer than 2 vectors is a UserError; mismatched dimensions an Error', () => {
    const one = new FeatureMoments(3);
    one.add(Float32Array.from([1, 2, 3]));
    const two = statsOf(featureRows(2, 3, 11), 3);
    expect(() => frechetDistance(one.stats(), two)).toThrow(UserError);
    expect(() => frechetDistance(two, one.stats())).toThrow(
      /needs at least 2 feature vectors per set; the second set has 1/,
    );
    expect(() => frechetDistance(two, statsOf(featureRows(2, 4, 12), 4))).toThrow(
      /3- and 4-dimensional/,
    );
  });
});

describe('symmetricEigenvalues', () => {
  test('matches ml-matrix on an indefinite 50 x 50 matrix, and the trivial sizes', () => {
    const n = 50;
    const random = new Random(13);
    const full = new Float64Array(n * n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j <= i; j++) full[i * n + j] = full[j * n + i] = random.normal();
    const want = new EigenvalueDecomposition(Matrix.from1DArray(n, n, Array.from(full)), {
      assumeSymmetric: true,
    }).realEigenvalues.sort((x, y) => x - y);
    const got = Array.from(symmetricEigenvalues(Float64Array.from(full), n)).sort((x, y) => x - y);
    expect(got.some((l) => l < -1)).toBe(true);
    got.forEach((l, i) => expect(Math.abs(l - want[i]!)).toBeLessThan(1e-12));

    expect(Array.from(symmetricEigenvalues(new Float64Array(0), 0))).toEqual([]);
    expect(Array.from(symmetricEigenvalues(Float64Array.from([3]), 1))).toEqual([3]);
    const two = Array.from(symmetricEigenvalues(Float64Array.from([2, 0, 1, 2]), 2)).sort();
    expect(two[0]).toBeCloseTo(1, 14);
    expect(two[1]).toBeCloseTo(3, 14);
  });
});
