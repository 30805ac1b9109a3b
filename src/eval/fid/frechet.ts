/**
 * The Fréchet distance between two Gaussians fitted to feature sets, as pytorch-fid's
 * `calculate_frechet_distance` defines it (Heusel et al., 2017):
 *
 *   d² = |μ1 − μ2|² + tr Σ1 + tr Σ2 − 2 tr sqrt(Σ1 Σ2)
 *
 * pytorch-fid takes tr sqrt(Σ1 Σ2) from scipy's sqrtm of the non-symmetric product. The same
 * number is the sum of the square roots of the eigenvalues of Σ1 Σ2, which are those of the
 * symmetric PSD matrix Fᵀ Σ2 F for any F with F Fᵀ = Σ1; with F = sqrt(Σ1) that is the usual
 * sqrt(Σ1) Σ2 sqrt(Σ1). F here is a pivoted Cholesky factor: it stops at Σ1's numerical rank, as
 * clamping sqrt(Σ1)'s negative eigenvalues to 0 would, and needs no eigenvectors, the costly part
 * of an eigendecomposition. The eigenvalues of Fᵀ Σ2 F then come from a tridiagonal reduction
 * alone: about 1.5 d³ multiply-adds in float64. ml-matrix's EigenvalueDecomposition computes the
 * eigenvectors too, for each of the two decompositions the sqrt(Σ1) route needs; hence the few
 * kernels at the end of this file.
 */
import { UserError } from '../../errors';

/** A Gaussian fitted to `count` feature vectors of `dim` values, in float64. */
export interface GaussianStats {
  count: number;
  mean: Float64Array;
  /** dim x dim, row-major, unbiased (divided by count − 1) as numpy.cov. */
  covariance: Float64Array;
  dim: number;
}

/** Rows per block when accumulating products: a block's rows are read from cache, not memory. */
const BLOCK_ROWS = 64;

/**
 * Streams feature rows into sums from which mean and covariance follow. The sums are float64 and
 * taken about the first row seen (a shift that keeps E[xxᵀ] − μμᵀ from cancelling), so any split
 * of the same rows into batches gives the same statistics up to float64 rounding.
 */
export class FeatureMoments {
  private count = 0;
  private shift: Float64Array | null = null;
  private readonly sum: Float64Array;
  /** Σ (x − shift)(x − shift)ᵀ, lower triangle (row-major). */
  private readonly products: Float64Array;

  constructor(readonly dim: number) {
    if (!Number.isInteger(dim) || dim < 1) throw new Error(`feature dimension ${dim} is not >= 1`);
    this.sum = new Float64Array(dim);
    this.products = new Float64Array(dim * dim);
  }

  /** Adds `rows.length / dim` feature vectors, row-major. */
  add(rows: Float32Array): void {
    const d = this.dim;
    if (rows.length % d !== 0)
      throw new Error(`${rows.length} values are not whole rows of ${d} features`);
    const n = rows.length / d;
    if (n === 0) return;
    this.shift ??= Float64Array.from(rows.subarray(0, d));
    // Shifted rows of one block, transposed: feature i's values are block[i*m .. i*m+m).
    const block = new Float64Array(d * Math.min(n, BLOCK_ROWS));
    for (let first = 0; first < n; first += BLOCK_ROWS) {
      const m = Math.min(BLOCK_ROWS, n - first);
      for (let r = 0; r < m; r++) {
        const row = (first + r) * d;
        for (let i = 0; i < d; i++) {
          const v = rows[row + i]! - this.shift[i]!;
          block[i * m + r] = v;
          this.sum[i] += v;
        }
      }
      addDots(this.products, d, block, block, m, { rows: [0, d], cols: 'lower', terms: [0, m] });
      this.count += m;
    }
  }

  /**
   * Mean and unbiased covariance of the rows so far. With fewer than 2 rows the covariance is
   * undefined (NaN, as numpy.cov gives); `count` says so.
   */
  stats(): GaussianStats {
    const d = this.dim;
    const n = this.count;
    const mean = new Float64Array(d);
    const covariance = new Float64Array(d * d);
    if (n === 0 || this.shift === null) {
      mean.fill(Number.NaN);
      covariance.fill(Number.NaN);
      return { count: 0, mean, covariance, dim: d };
    }
    for (let i = 0; i < d; i++) mean[i] = this.shift[i]! + this.sum[i]! / n;
    for (let i = 0; i < d; i++) {
      for (let j = 0; j <= i; j++) {
        const c = (this.products[i * d + j]! - (this.sum[i]! * this.sum[j]!) / n) / (n - 1);
        covariance[i * d + j] = c;
        covariance[j * d + i] = c;
      }
    }
    return { count: n, mean, covariance, dim: d };
  }
}

/**
 * The squared Fréchet distance between two Gaussians (FID when they are fitted to Inception
 * pool3 features). Needs at least 2 vectors behind each.
 */
export function frechetDistance(a: GaussianStats, b: GaussianStats): number {
  checkStats(a, 'first');
  checkStats(b, 'second');
  if (a.dim !== b.dim)
    throw new Error(`Fréchet distance of ${a.dim}- and ${b.dim}-dimensional Gaussians`);
  const d = a.dim;
  let meanTerm = 0;
  let traces = 0;
  for (let i = 0; i < d; i++) {
    meanTerm += (a.mean[i]! - b.mean[i]!) ** 2;
    traces += a.covariance[i * d + i]! + b.covariance[i * d + i]!;
  }
  // Factor the covariance of the smaller set: its rank (at most count − 1) bounds the work.
  const [factored, other] = b.count < a.count ? [b, a] : [a, b];
  return meanTerm + traces - 2 * traceSqrtProduct(factored.covariance, other.covariance, d);
}

function checkStats(s: GaussianStats, which: string): void {
  if (s.count < 2)
    throw new UserError(
      `the Fréchet distance needs at least 2 feature vectors per set; the ${which} set has ${s.count}`,
    );
  if (s.mean.length !== s.dim || s.covariance.length !== s.dim * s.dim)
    throw new Error(`${which} Gaussian: mean or covariance does not match dimension ${s.dim}`);
  for (const v of s.mean) if (!Number.isFinite(v)) throw new Error(`${which} mean is not finite`);
  for (const v of s.covariance)
    if (!Number.isFinite(v)) throw new Error(`${which} covariance is not finite`);
}

// ---------------------------------------------------------------------------------------------
// Dense float64 kernels. Plain loops over row-major Float64Arrays; the O(d³) parts are dot
// products of contiguous rows in 4 x 2 blocks, which reuses each loaded value where one dot at a
// time loads it again.

/** Columns of a Cholesky panel: the Schur complement is updated once per panel, as a SYRK. */
const CHOLESKY_PANEL = 64;

/** tr sqrt(A B) for symmetric PSD A and B (d x d, row-major): Σ sqrt(λ(Fᵀ B F)), A = F Fᵀ. */
export function traceSqrtProduct(a: Float64Array, b: Float64Array, d: number): number {
  const { factor, order, rank } = pivotedCholesky(a, d);
  const permuted = permute(b, order, d);
  // W = Fᵀ B (rank x d), then Fᵀ B F from W and F; F's column c is zero above its row c.
  const w = new Float64Array(rank * d);
  addDots(w, d, factor, permuted, d, { rows: [0, rank], cols: [0, d], terms: [-1, d] });
  const congruent = new Float64Array(rank * rank);
  addDots(congruent, rank, factor, w, d, { rows: [0, rank], cols: 'lower', terms: [-1, d] });
  let trace = 0;
  for (const lambda of symmetricEigenvalues(congruent, rank))
    trace += Math.sqrt(Math.max(lambda, 0)); // zero eigenvalues come out as ±1e-17
  return trace;
}

/** B[order, order]. */
function permute(b: Float64Array, order: Int32Array, d: number): Float64Array {
  const out = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    const from = order[i]! * d;
    for (let j = 0; j < d; j++) out[i * d + j] = b[from + order[j]!]!;
  }
  return out;
}

interface PivotedFactor {
  /** Fᵀ, rank x d row-major: row c is column c of F, zero before position c. */
  factor: Float64Array;
  /** Position i of the pivoted matrix is row/column order[i] of the input. */
  order: Int32Array;
  rank: number;
}

/**
 * A[order, order] = F Fᵀ for a symmetric PSD A (only its lower triangle is read), with F lower
 * trapezoidal (d x rank): Cholesky with symmetric pivoting, as LAPACK's dpstrf. Each step takes
 * the largest remaining diagonal of the Schur complement and the factorization stops when that
 * is below d·ε·max(diag A), LAPACK's default tolerance; the remainder is rounding noise of a
 * rank-deficient matrix, as the negative eigenvalues an eigendecomposition would give.
 */
function pivotedCholesky(a: Float64Array, d: number): PivotedFactor {
  const s = Float64Array.from(a); // the Schur complement, lower triangle
  const l = new Float64Array(d * d); // F by position, row-major
  const order = Int32Array.from({ length: d }, (_, i) => i);
  const residual = new Float64Array(d);
  let maxDiagonal = 0;
  for (let i = 0; i < d; i++) maxDiagonal = Math.max(maxDiagonal, a[i * d + i]!);
  const tolerance = d * Number.EPSILON * maxDiagonal;
  let rank = 0;
  for (let k0 = 0; k0 < d && rank === k0; k0 += CHOLESKY_PANEL) {
    const k1 = Math.min(k0 + CHOLESKY_PANEL, d);
    for (let i = k0; i < d; i++) residual[i] = s[i * d + i]!;
    for (let k = k0; k < k1; k++) {
      let p = k;
      for (let i = k + 1; i < d; i++) if (residual[i]! > residual[p]!) p = i;
      if (!(residual[p]! > tolerance)) break;
      if (p !== k) {
        swapSymmetric(s, d, k, p);
        swapRows(l, d, k, p, k);
        [order[k], order[p]] = [order[p]!, order[k]!];
        [residual[k], residual[p]] = [residual[p]!, residual[k]!];
      }
      const pivot = Math.sqrt(residual[k]!);
      l[k * d + k] = pivot;
      for (let i = k + 1; i < d; i++) {
        // The panel's earlier columns are not yet subtracted from s.
        let v = s[i * d + k]!;
        for (let t = k0; t < k; t++) v -= l[i * d + t]! * l[k * d + t]!;
        v /= pivot;
        l[i * d + k] = v;
        residual[i] -= v * v;
      }
      rank = k + 1;
    }
    if (rank === k1 && k1 < d)
      addDots(s, d, l, l, d, { rows: [k1, d], cols: 'lower', terms: [k0, k1], sign: -1 });
  }
  const factor = new Float64Array(rank * d);
  for (let i = 0; i < d; i++)
    for (let c = 0; c < Math.min(i + 1, rank); c++) factor[c * d + i] = l[i * d + c]!;
  return { factor, order, rank };
}

/**
 * Swaps rows and columns k < p of a symmetric matrix kept in its lower triangle, for the part
 * at or after k (LAPACK's dsyswapr without the leading block, which is no longer read).
 */
function swapSymmetric(s: Float64Array, d: number, k: number, p: number): void {
  const swap = (x: number, y: number): void => {
    const t = s[x]!;
    s[x] = s[y]!;
    s[y] = t;
  };
  swap(k * d + k, p * d + p);
  for (let j = k + 1; j < p; j++) swap(j * d + k, p * d + j);
  for (let i = p + 1; i < d; i++) swap(i * d + k, i * d + p);
}

/** Swaps the first `count` entries of rows x and y. */
function swapRows(m: Float64Array, d: number, x: number, y: number, count: number): void {
  for (let c = 0; c < count; c++) {
    const t = m[x * d + c]!;
    m[x * d + c] = m[y * d + c]!;
    m[y * d + c] = t;
  }
}

interface DotRange {
  /** Rows i of x (and of out), [from, to). */
  rows: [number, number];
  /** Rows j of y (columns of out), [from, to); 'lower': from rows[0] up to and including i. */
  cols: [number, number] | 'lower';
  /** Terms t, [from, to); a `from` of -1 starts at the row i's block (x is zero before i). */
  terms: [number, number];
  sign?: 1 | -1;
}

/** out[i, j] += sign · Σ_t x[i, t] y[j, t]; x and y share the row stride `ld`. */
function addDots(
  out: Float64Array,
  ldOut: number,
  x: Float64Array,
  y: Float64Array,
  ld: number,
  range: DotRange,
): void {
  const [i0, i1] = range.rows;
  const sign = range.sign ?? 1;
  const acc = new Float64Array(8);
  for (let i = i0; i < i1; i += 4) {
    const last = i1 - 1; // short blocks repeat their last row; the repeats are not stored
    const r0 = i * ld;
    const r1 = Math.min(i + 1, last) * ld;
    const r2 = Math.min(i + 2, last) * ld;
    const r3 = Math.min(i + 3, last) * ld;
    const [j0, j1] = range.cols === 'lower' ? [i0, Math.min(i + 4, i1)] : range.cols;
    const from = range.terms[0] < 0 ? i : range.terms[0];
    for (let j = j0; j < j1; j += 2) {
      const s1 = Math.min(j + 1, j1 - 1) * ld;
      dots4x2(x, r0, r1, r2, r3, y, j * ld, s1, from, range.terms[1], acc);
      for (let a = 0; a < 4 && i + a < i1; a++) {
        for (let b = 0; b < 2 && j + b < j1; b++) {
          if (range.cols === 'lower' && j + b > i + a) continue;
          out[(i + a) * ldOut + j + b] += sign * acc[2 * a + b]!;
        }
      }
    }
  }
}

/** acc[2a + b] = Σ_{t in [from, to)} x[ra + t] y[sb + t], for 4 rows of x and 2 of y. */
function dots4x2(
  x: Float64Array,
  r0: number,
  r1: number,
  r2: number,
  r3: number,
  y: Float64Array,
  s0: number,
  s1: number,
  from: number,
  to: number,
  acc: Float64Array,
): void {
  let a00 = 0;
  let a01 = 0;
  let a10 = 0;
  let a11 = 0;
  let a20 = 0;
  let a21 = 0;
  let a30 = 0;
  let a31 = 0;
  for (let t = from; t < to; t++) {
    const y0 = y[s0 + t]!;
    const y1 = y[s1 + t]!;
    let v = x[r0 + t]!;
    a00 += v * y0;
    a01 += v * y1;
    v = x[r1 + t]!;
    a10 += v * y0;
    a11 += v * y1;
    v = x[r2 + t]!;
    a20 += v * y0;
    a21 += v * y1;
    v = x[r3 + t]!;
    a30 += v * y0;
    a31 += v * y1;
  }
  acc[0] = a00;
  acc[1] = a01;
  acc[2] = a10;
  acc[3] = a11;
  acc[4] = a20;
  acc[5] = a21;
  acc[6] = a30;
  acc[7] = a31;
}

/**
 * Eigenvalues of a symmetric n x n matrix given by its lower triangle (row-major; overwritten):
 * Householder reduction to tridiagonal form, then implicit QL (EISPACK's tql1).
 */
export function symmetricEigenvalues(a: Float64Array, n: number): Float64Array {
  const diagonal = new Float64Array(n);
  const offDiagonal = new Float64Array(n);
  tridiagonalize(a, n, diagonal, offDiagonal);
  tridiagonalEigenvalues(diagonal, offDiagonal);
  return diagonal;
}

/**
 * Qᵀ A Q = tridiagonal(diagonal, offDiagonal), offDiagonal[k] coupling k and k + 1, by
 * Householder reflections (Golub & Van Loan, algorithm 8.3.1) on the lower triangle. Each
 * step's rank-2 update of the trailing block and the next step's product with it share one pass
 * over the matrix: the reduction streams the matrix from memory, so this halves its time.
 */
function tridiagonalize(
  a: Float64Array,
  n: number,
  diagonal: Float64Array,
  offDiagonal: Float64Array,
): void {
  if (n === 0) return;
  let v = new Float64Array(n); // this step's reflector, v[k+1] = 1
  let next = new Float64Array(n); // the next step's
  const w = new Float64Array(n);
  const p = new Float64Array(n); // A' v, A' the trailing block
  diagonal[0] = a[0]!;
  let beta = 0;
  if (n > 2) {
    beta = householder(a, n, 0, v, offDiagonal);
    updateAndMultiply(a, n, 1, w, w, v, p); // w is zero here: a plain product
  }
  for (let k = 0; k < n - 2; k++) {
    const first = k + 1;
    // w = β p − (β² pᵀv / 2) v, so that A' − v wᵀ − w vᵀ is the reflected block.
    let pv = 0;
    for (let i = first; i < n; i++) pv += p[i]! * v[i]!;
    for (let i = first; i < n; i++) w[i] = beta * p[i]! - ((beta * beta * pv) / 2) * v[i]!;
    // The block's first column is updated ahead of the rest: the next reflector comes from it.
    for (let i = first; i < n; i++) a[i * n + first] -= v[i]! * w[first]! + w[i]! * v[first]!;
    diagonal[first] = a[first * n + first]!;
    const nextBeta = first < n - 2 ? householder(a, n, first, next, offDiagonal) : 0;
    updateAndMultiply(a, n, first + 1, v, w, next, p);
    [v, next] = [next, v];
    beta = nextBeta;
  }
  if (n >= 2) offDiagonal[n - 2] = a[(n - 1) * n + (n - 2)]!;
  diagonal[n - 1] = a[(n - 1) * n + (n - 1)]!;
  offDiagonal[n - 1] = 0;
}

/**
 * The reflector I − β v vᵀ that zeroes column k below its subdiagonal: v[k+1..n) with
 * v[k+1] = 1 (v is zeroed when there is nothing to zero, β = 0). Sets offDiagonal[k].
 */
function householder(
  a: Float64Array,
  n: number,
  k: number,
  v: Float64Array,
  offDiagonal: Float64Array,
): number {
  const first = k + 1;
  const x0 = a[first * n + k]!;
  let sigma = 0;
  for (let i = first + 1; i < n; i++) {
    const x = a[i * n + k]!;
    v[i] = x;
    sigma += x * x;
  }
  if (sigma === 0) {
    offDiagonal[k] = x0;
    v.fill(0, first, n);
    return 0;
  }
  const mu = Math.sqrt(x0 * x0 + sigma);
  const v0 = x0 <= 0 ? x0 - mu : -sigma / (x0 + mu);
  v[first] = 1;
  for (let i = first + 1; i < n; i++) v[i] = v[i]! / v0;
  offDiagonal[k] = mu;
  return (2 * v0 * v0) / (sigma + v0 * v0);
}

/**
 * On the trailing block from row/column `from` (lower triangle): A −= v wᵀ + w vᵀ, then
 * p = A u, in one pass.
 */
function updateAndMultiply(
  a: Float64Array,
  n: number,
  from: number,
  v: Float64Array,
  w: Float64Array,
  u: Float64Array,
  p: Float64Array,
): void {
  p.fill(0, from, n);
  let i = from;
  // Two rows at a time: the four vectors' entries are loaded once for both.
  for (; i + 1 < n; i += 2) {
    const row0 = i * n;
    const row1 = row0 + n;
    const v0 = v[i]!;
    const w0 = w[i]!;
    const u0 = u[i]!;
    const v1 = v[i + 1]!;
    const w1 = w[i + 1]!;
    const u1 = u[i + 1]!;
    let s0 = 0;
    let s1 = 0;
    for (let j = from; j < i; j++) {
      const vj = v[j]!;
      const wj = w[j]!;
      const uj = u[j]!;
      const a0 = a[row0 + j]! - v0 * wj - w0 * vj;
      const a1 = a[row1 + j]! - v1 * wj - w1 * vj;
      a[row0 + j] = a0;
      a[row1 + j] = a1;
      s0 += a0 * uj;
      s1 += a1 * uj;
      p[j] += a0 * u0 + a1 * u1;
    }
    const a00 = a[row0 + i]! - 2 * v0 * w0;
    const a10 = a[row1 + i]! - v1 * w0 - w1 * v0;
    const a11 = a[row1 + i + 1]! - 2 * v1 * w1;
    a[row0 + i] = a00;
    a[row1 + i] = a10;
    a[row1 + i + 1] = a11;
    p[i] += s0 + a00 * u0 + a10 * u1;
    p[i + 1] += s1 + a10 * u0 + a11 * u1;
  }
  if (i < n) {
    const row = i * n;
    const vi = v[i]!;
    const wi = w[i]!;
    const ui = u[i]!;
    let s = 0;
    for (let j = from; j < i; j++) {
      const aij = a[row + j]! - vi * w[j]! - wi * v[j]!;
      a[row + j] = aij;
      s += aij * u[j]!;
      p[j] += aij * ui;
    }
    const aii = a[row + i]! - 2 * vi * wi;
    a[row + i] = aii;
    p[i] += s + aii * ui;
  }
}

/**
 * Eigenvalues of the symmetric tridiagonal matrix (d, e) in place in d, by implicit QL with
 * Wilkinson shifts (JAMA's tql2 without the eigenvectors).
 */
function tridiagonalEigenvalues(d: Float64Array, e: Float64Array): void {
  const n = d.length;
  const eps = Number.EPSILON;
  let shift = 0;
  let norm = 0;
  for (let l = 0; l < n; l++) {
    norm = Math.max(norm, Math.abs(d[l]!) + Math.abs(e[l]!));
    let m = l;
    while (m < n - 1 && Math.abs(e[m]!) > eps * norm) m++;
    if (m > l) {
      let iterations = 0;
      do {
        if (++iterations > 100) throw new Error('symmetric eigenvalues: QL did not converge');
        let g = d[l]!;
        let p = (d[l + 1]! - g) / (2 * e[l]!);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l]! / (p + r);
        d[l + 1] = e[l]! * (p + r);
        const dl1 = d[l + 1]!;
        let h = g - d[l]!;
        for (let i = l + 2; i < n; i++) d[i] -= h;
        shift += h;
        p = d[m]!;
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1]!;
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i]!;
          h = c * p;
          r = Math.hypot(p, e[i]!);
          e[i + 1] = s * r;
          s = e[i]! / r;
          c = p / r;
          p = c * d[i]! - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]!);
        }
        p = (-s * s2 * c3 * el1 * e[l]!) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]!) > eps * norm);
    }
    d[l] = d[l]! + shift;
    e[l] = 0;
  }
}
