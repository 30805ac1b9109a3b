import { LEFT_EYE, RIGHT_EYE } from '../landmarks/parts';
import { boundingBox, centroid, POINT_COUNT, type Points } from '../landmarks/points';
import type { FrameMotion } from './motion';

/**
 * One synthetic frame's warp of the photo, as a backward map (output position -> photo position,
 * what pixel pulling needs) with an exact inverse for the landmarks.
 *
 * backward = expression^-1 ∘ similarity^-1: first undo the head's rotation, scale and shift about
 * the face centre, then the expression, p -> p - down * phi(p), phi a backward displacement field
 * in face-aligned coordinates (u across the face, s down it). The mouth and each eye add a term:
 * plateaus that carry a region rigidly (the jaw down, the upper lip up, an upper eyelid down)
 * joined by ramps. Only a ramp whose displacement grows downwards stretches, and those keep
 * d phi / d s at most MOUTH_STRETCH or EYE_STRETCH < 1, so the map stays a diffeomorphism;
 * everything else squeezes, by any amount (a closing eye is a squeeze to a few percent).
 *
 * Not a sum of Gaussian RBFs: a Gaussian's steep zone is as wide as its radius, far wider than
 * a lip gap, so opening the mouth would thicken the lower lip and pull the corners of a shut
 * mouth down with the jaw; and a Gaussian pair whose stretch is bounded squeezes an eye only to
 * about a third (its falling side is no steeper than its rising side).
 *
 * The displacement is along one direction, so the map moves points along lines parallel to `down`
 * and on each line it is increasing: the inverse of a point is a 1-D root (the rank-1 form of the
 * 2x2 Newton system), found by safeguarded Newton to 1e-10 px.
 */

/** Where the face is: the similarity turns about the centre; shifts are in units of size. */
export interface FaceFrame {
  cx: number;
  cy: number;
  size: number;
}

/** The landmarks' bounding-box centre and longer side (the size the crop rule uses too). */
export function faceFrameOf(points: Points): FaceFrame {
  const box = boundingBox(points);
  return {
    cx: box.left + box.width / 2,
    cy: box.top + box.height / 2,
    size: Math.max(box.width, box.height),
  };
}

/** Largest d phi / d s where the mouth opens: the lip seam is stretched up to 1 / (1 - this). */
const MOUTH_STRETCH = 0.97;
/** Largest d phi / d s above a closing eye (the upper lid's skin), gentler: it is visible skin. */
const EYE_STRETCH = 0.6;
/** Inner-lip gap added at mouth = 1, in mouth widths (a wide-open mouth). */
const MOUTH_GAP = 0.4;
/** How much of the mouth's opening goes to the upper lip (the jaw takes the rest). */
const UPPER_LIP_SHARE = 0.25;
/** Lid gap left at closure 1, as a fraction of the open gap (a squeeze; 0 would fold). */
const CLOSED_EYE_GAP = 0.05;
/**
 * The smallest inner-lip gap (face sizes) the photo's points are given. Lips that touch sit on
 * one seam, and no diffeomorphism takes points that coincide apart; with points this far apart
 * the seam between them can be stretched to a wide-open mouth.
 */
const MIN_LIP_GAP = 0.02;

/** Fraction of a ramp at each end over which its slope eases in and out. */
const RAMP_EASE = 0.1;
/** A ramp's peak slope over its mean slope. */
const RAMP_PEAK = 1 / (1 - RAMP_EASE);

/** C2 step 0 -> 1 over t in [0, 1] (smootherstep). */
const smooth = (t: number) => (t <= 0 ? 0 : t >= 1 ? 1 : t * t * t * (t * (6 * t - 15) + 10));
const smoothSlope = (t: number) => (t <= 0 || t >= 1 ? 0 : 30 * t * t * (t - 1) * (t - 1));

/**
 * C1 step 0 -> 1 over t in [0, 1] with a flat slope (RAMP_PEAK) over all but its eased ends:
 * the stretch it causes is spread evenly instead of peaking, so its peak stays small.
 */
function ramp(t: number): number {
  if (t <= 0) return 0;
  if (t >= 1) return 1;
  if (t < RAMP_EASE) return (RAMP_PEAK * t * t) / (2 * RAMP_EASE);
  if (t > 1 - RAMP_EASE) return 1 - (RAMP_PEAK * (1 - t) * (1 - t)) / (2 * RAMP_EASE);
  return RAMP_PEAK * (t - RAMP_EASE / 2);
}
function rampSlope(t: number): number {
  if (t <= 0 || t >= 1) return 0;
  if (t < RAMP_EASE) return (RAMP_PEAK * t) / RAMP_EASE;
  if (t > 1 - RAMP_EASE) return (RAMP_PEAK * (1 - t)) / RAMP_EASE;
  return RAMP_PEAK;
}

/** A polyline s(u) through landmark positions, sorted by u; held flat beyond its ends. */
class Contour {
  readonly u: Float64Array;
  readonly s: Float64Array;

  constructor(knots: [number, number][]) {
    knots.sort((a, b) => a[0] - b[0]);
    this.u = Float64Array.from(knots, (k) => k[0]);
    this.s = Float64Array.from(knots, (k) => k[1]);
  }

  get first(): number {
    return this.u[0]!;
  }

  get last(): number {
    return this.u[this.u.length - 1]!;
  }

  at(u: number): number {
    const { u: us, s } = this;
    if (u <= us[0]!) return s[0]!;
    for (let i = 1; i < us.length; i++)
      if (u <= us[i]!) {
        const span = us[i]! - us[i - 1]!;
        return span > 0 ? s[i - 1]! + ((u - us[i - 1]!) / span) * (s[i]! - s[i - 1]!) : s[i]!;
      }
    return s[s.length - 1]!;
  }
}

/** One part's term of phi. */
interface Term {
  /** Where the term can be non-zero, in (u, s). */
  readonly uMin: number;
  readonly uMax: number;
  readonly sMin: number;
  readonly sMax: number;
  /** phi and d phi / d s at (u, s), added to out[0] and out[1]. */
  add(u: number, s: number, out: Float64Array): void;
}

/** The mouth's geometry in face coordinates, from the (separated) photo points. */
interface MouthShape {
  upper: Contour;
  lower: Contour;
  /** Along-face positions of the nose base, the upper lip's top, the chin. */
  nose: number;
  lipTop: number;
  chin: number;
  /** Across position of the mouth's centre, and its width. */
  centre: number;
  width: number;
}

/**
 * The mouth opens by `opening` (px, at its middle): the upper lip region moves up by
 * UPPER_LIP_SHARE of it and the jaw (lower lip to chin) down by the rest, each rigidly; a ramp
 * between them stretches the lip seam into the gap, a squeeze above the upper lip and below the
 * chin gives the space back, so the nose and neck stay. Across the face the movement fades from
 * full (0.15 of the mouth's width each side of its middle) to none at 0.65, a sixth at the
 * corners: the opening is lens-shaped.
 */
class MouthTerm implements Term {
  readonly uMin: number;
  readonly uMax: number;
  readonly sMin: number;
  readonly sMax: number;
  private readonly up: number;
  private readonly down: number;
  /** Length of the squeeze under the chin. */
  private readonly below: number;

  constructor(
    private readonly shape: MouthShape,
    opening: number,
  ) {
    this.up = UPPER_LIP_SHARE * opening;
    this.down = opening - this.up;
    this.uMin = shape.centre - 0.65 * shape.width;
    this.uMax = shape.centre + 0.65 * shape.width;
    this.below = Math.max(0.3 * (shape.chin - shape.upper.at(shape.centre)), this.down);
    this.sMin = shape.nose;
    this.sMax = shape.chin + this.down + this.below + opening;
  }

  add(u: number, s: number, out: Float64Array): void {
    const shape = this.shape;
    const off = Math.abs(u - shape.centre) / shape.width;
    const fade = 1 - smooth((off - 0.15) / 0.5);
    if (fade <= 0 || s <= shape.nose) return;
    const up = fade * this.up;
    const down = fade * this.down;
    const upper = shape.upper.at(u);
    const lower = shape.lower.at(u);
    // The ramp spans the lips' output positions, widened (into the lips, mostly the lower)
    // where their gap is too thin for the stretch bound.
    const top = upper - up;
    const bottom = lower + down;
    const need = (RAMP_PEAK * (up + down)) / MOUTH_STRETCH;
    const extra = Math.max(0, need - (bottom - top));
    const r0 = top - UPPER_LIP_SHARE * extra;
    const r1 = bottom + (1 - UPPER_LIP_SHARE) * extra;
    const philtrum = upper - shape.nose;
    const n1 = Math.min(r0, Math.max(shape.lipTop - up, shape.nose + 0.25 * philtrum));
    if (n1 <= shape.nose) return; // a degenerate face (lips at the nose): leave it be
    const c0 = Math.max(shape.chin + down, r1);
    const c1 = c0 + this.below;
    if (s < n1) {
      const span = n1 - shape.nose;
      const t = (s - shape.nose) / span;
      out[0] -= up * smooth(t);
      out[1] -= (up * smoothSlope(t)) / span;
    } else if (s <= r0) out[0] -= up;
    else if (s < r1) {
      const span = r1 - r0;
      const t = (s - r0) / span;
      out[0] += -up + (up + down) * ramp(t);
      out[1] += ((up + down) * rampSlope(t)) / span;
    } else if (s <= c0) out[0] += down;
    else if (s < c1) {
      const span = c1 - c0;
      const t = (s - c0) / span;
      out[0] += down * (1 - smooth(t));
      out[1] -= (down * smoothSlope(t)) / span;
    }
  }
}

/** An eye's lids in face coordinates. */
interface EyeShape {
  upper: Contour;
  lower: Contour;
  /** The widest lid gap. */
  open: number;
}

/**
 * An eye closes onto its lower lid, which stays: at every u across the eye the upper lid moves
 * down by `closure` (1 - CLOSED_EYE_GAP) of the lid gap there (so the corners, where the lids
 * meet, stay), the eye between the lids is squeezed, and the skin above the lid is stretched
 * (at most EYE_STRETCH) to follow.
 */
class EyeTerm implements Term {
  readonly uMin: number;
  readonly uMax: number;
  readonly sMin: number;
  readonly sMax: number;
  private readonly fraction: number;
  /** Lengths of the lid's rigid band and of the stretch above it. */
  private readonly band: number;
  private readonly rise: number;

  constructor(
    private readonly shape: EyeShape,
    closure: number,
  ) {
    this.fraction = closure * (1 - CLOSED_EYE_GAP);
    this.band = 0.3 * shape.open;
    this.rise = Math.max((RAMP_PEAK * this.fraction * shape.open) / EYE_STRETCH, 0.5 * shape.open);
    this.uMin = Math.min(shape.upper.first, shape.lower.first);
    this.uMax = Math.max(shape.upper.last, shape.lower.last);
    let top = Infinity;
    let bottom = -Infinity;
    for (const s of shape.upper.s) top = Math.min(top, s);
    for (const s of shape.lower.s) bottom = Math.max(bottom, s);
    this.sMin = top - this.band - this.rise;
    this.sMax = bottom;
  }

  add(u: number, s: number, out: Float64Array): void {
    const upper = this.shape.upper.at(u);
    const lower = this.shape.lower.at(u);
    const drop = this.fraction * Math.max(0, lower - upper);
    if (drop <= 0 || s >= lower) return;
    const a0 = upper + drop; // the upper lid's output position
    const b1 = a0 - this.band;
    const b0 = b1 - this.rise;
    if (s <= b0) return;
    if (s < b1) {
      const t = (s - b0) / this.rise;
      out[0] += drop * ramp(t);
      out[1] += (drop * rampSlope(t)) / this.rise;
    } else if (s <= a0) out[0] += drop;
    else {
      const span = lower - a0;
      const t = (s - a0) / span;
      out[0] += drop * (1 - smooth(t));
      out[1] -= (drop * smoothSlope(t)) / span;
    }
  }
}

/**
 * The expression: p -> p - down * phi(p) and its inverse. Coordinates: u = (p - origin) . across,
 * s = (p - origin) . down, with across = (down.y, -down.x) (from the face's right to its left).
 */
export class ExpressionField {
  private readonly acc = new Float64Array(2);
  /** sup |phi|: brackets an inverse. */
  private readonly bound: number;

  constructor(
    private readonly terms: readonly Term[],
    readonly originX: number,
    readonly originY: number,
    readonly downX: number,
    readonly downY: number,
    bound: number,
  ) {
    this.bound = bound;
  }

  get empty(): boolean {
    return this.terms.length === 0;
  }

  /** phi and d phi / d s at (x, y), into this.acc. */
  private sample(x: number, y: number): Float64Array {
    const acc = this.acc;
    acc[0] = 0;
    acc[1] = 0;
    const dx = x - this.originX;
    const dy = y - this.originY;
    const u = dx * this.downY - dy * this.downX;
    const s = dx * this.downX + dy * this.downY;
    const terms = this.terms;
    for (let i = 0; i < terms.length; i++) {
      const term = terms[i]!;
      if (u > term.uMin && u < term.uMax && s > term.sMin && s < term.sMax) term.add(u, s, acc);
    }
    return acc;
  }

  phi(x: number, y: number): number {
    return this.sample(x, y)[0]!;
  }

  /** Output -> source, into out[0], out[1]. */
  backwardInto(x: number, y: number, out: Float64Array | number[]): void {
    const f = this.sample(x, y)[0]!;
    out[0] = x - this.downX * f;
    out[1] = y - this.downY * f;
  }

  /**
   * backwardInto for the points (x0 + i dx, y0 + i dy), i < count, into xs and ys: the pixel
   * loop's hot path, so most points (outside every term's box) cost a few comparisons.
   */
  backwardRow(
    x0: number,
    y0: number,
    dx: number,
    dy: number,
    count: number,
    xs: Float64Array,
    ys: Float64Array,
  ): void {
    const { terms, acc, downX, downY } = this;
    // (u, s) of the points are affine in i too.
    const u0 = (x0 - this.originX) * downY - (y0 - this.originY) * downX;
    const s0 = (x0 - this.originX) * downX + (y0 - this.originY) * downY;
    const du = dx * downY - dy * downX;
    const ds = dx * downX + dy * downY;
    for (let i = 0; i < count; i++) {
      const x = x0 + i * dx;
      const y = y0 + i * dy;
      const u = u0 + i * du;
      const s = s0 + i * ds;
      acc[0] = 0;
      for (let k = 0; k < terms.length; k++) {
        const term = terms[k]!;
        if (u > term.uMin && u < term.uMax && s > term.sMin && s < term.sMax) term.add(u, s, acc);
      }
      const f = acc[0]!;
      xs[i] = x - downX * f;
      ys[i] = y - downY * f;
    }
  }

  /** det of the backward map's Jacobian, 1 - d phi / d s (the displacement is along down). */
  determinant(x: number, y: number): number {
    return 1 - this.sample(x, y)[1]!;
  }

  /** Source -> output: the exact inverse of backwardInto. */
  forwardInto(x: number, y: number, out: Float64Array | number[]): void {
    const tau = this.empty ? 0 : this.solve(x, y);
    out[0] = x + this.downX * tau;
    out[1] = y + this.downY * tau;
  }

  /**
   * The tau with q + tau down = p and p - down phi(p) = q, i.e. h(tau) = tau - phi(q + tau down)
   * = 0. h' = 1 - d phi / d s > 0, so the root is unique and lies in [-bound, bound]; Newton from
   * the forward estimate tau = phi(q), falling back to bisection if it leaves the bracket.
   */
  private solve(qx: number, qy: number): number {
    let lo = -this.bound - 1;
    let hi = this.bound + 1;
    let tau = this.phi(qx, qy);
    for (let i = 0; i < 200; i++) {
      const sampled = this.sample(qx + tau * this.downX, qy + tau * this.downY);
      const h = tau - sampled[0]!;
      if (Math.abs(h) < 1e-10) return tau;
      if (h > 0) hi = tau;
      else lo = tau;
      let next = tau - h / (1 - sampled[1]!);
      if (!(next > lo && next < hi)) next = (lo + hi) / 2;
      tau = next;
    }
    throw new Error(`ExpressionField: inverse did not converge at (${qx}, ${qy})`);
  }
}

type Vec = readonly [number, number];
const point = (points: ArrayLike<number>, i: number): Vec => [points[2 * i]!, points[2 * i + 1]!];

const INNER_LIP_PAIRS = [
  [61, 67],
  [62, 66],
  [63, 65],
] as const;

/**
 * The photo's points with each upper inner-lip point at least MIN_LIP_GAP face sizes above its
 * lower partner (along `down`), both moved by half the shortfall: lips that touch in the photo
 * sit on one seam, and no continuous warp takes points that coincide apart. A mouth already that
 * open is left as it is.
 */
function separateInnerLips(points: Points, down: Vec, faceSize: number): Points {
  let out: Points | undefined;
  for (const [upper, lower] of INNER_LIP_PAIRS) {
    const gap =
      (points[2 * lower]! - points[2 * upper]!) * down[0] +
      (points[2 * lower + 1]! - points[2 * upper + 1]!) * down[1];
    const push = (MIN_LIP_GAP * faceSize - gap) / 2;
    if (push <= 0) continue;
    out ??= Float32Array.from(points);
    out[2 * upper] -= push * down[0];
    out[2 * upper + 1] -= push * down[1];
    out[2 * lower] += push * down[0];
    out[2 * lower + 1] += push * down[1];
  }
  return out ?? points;
}

const clamp01 = (v: number) => Math.min(1, Math.max(0, v));

/**
 * Per-photo precomputation (face frame, axes, the mouth's and eyes' shapes) from which each
 * frame's FaceWarp is made.
 */
export class FaceRig {
  readonly face: FaceFrame;
  /** Unit vector from the eyes towards the mouth (perpendicular to the eye line). */
  readonly down: Vec;
  /**
   * The points the warps move: the photo's, with touching inner lips set apart
   * (separateInnerLips). FaceWarp.forwardPoints(rig.points) gives a frame's landmarks.
   */
  readonly points: Points;
  private readonly mouth: MouthShape;
  private readonly rightEye: EyeShape;
  private readonly leftEye: EyeShape;

  constructor(photoPoints: Points, face: FaceFrame = faceFrameOf(photoPoints)) {
    if (photoPoints.length !== POINT_COUNT * 2) throw new Error('FaceRig needs 68 points');
    this.face = face;
    const right = centroid(photoPoints, RIGHT_EYE);
    const left = centroid(photoPoints, LEFT_EYE);
    const across = Math.hypot(left[0] - right[0], left[1] - right[1]);
    this.down = [-(left[1] - right[1]) / across, (left[0] - right[0]) / across];
    const points = separateInnerLips(photoPoints, this.down, face.size);
    this.points = points;
    const u = (i: number) => this.uOf(point(points, i));
    const s = (i: number) => this.sOf(point(points, i));
    const contour = (indices: number[]) => new Contour(indices.map((i) => [u(i), s(i)]));
    const upperLip = contour([60, 61, 62, 63, 64]);
    const lowerLip = contour([60, 67, 66, 65, 64]);
    // Kept in order (nose above the lips above the chin) however odd the points.
    const margin = 0.02 * face.size;
    const nose = Math.min(s(33), Math.min(...upperLip.s) - margin);
    this.mouth = {
      upper: upperLip,
      lower: lowerLip,
      nose,
      lipTop: Math.min(Math.max(s(51), nose), Math.min(...upperLip.s)),
      chin: Math.max(s(8), Math.max(...lowerLip.s) + margin),
      centre: (u(48) + u(54)) / 2,
      width: Math.abs(u(54) - u(48)),
    };
    const eye = (e: readonly number[]): EyeShape => {
      const upper = contour([e[0]!, e[1]!, e[2]!, e[3]!]);
      const lower = contour([e[0]!, e[5]!, e[4]!, e[3]!]);
      // The widest gap is at a knot of one of the polylines.
      const knots = [...upper.u, ...lower.u];
      const open = Math.max(0, ...knots.map((k) => lower.at(k) - upper.at(k)));
      return { upper, lower, open };
    };
    this.rightEye = eye(RIGHT_EYE);
    this.leftEye = eye(LEFT_EYE);
  }

  /** Across-face coordinate (from the face's right to its left), relative to the face centre. */
  private uOf(p: Vec): number {
    return (p[0] - this.face.cx) * this.down[1] - (p[1] - this.face.cy) * this.down[0];
  }

  /** Down-face coordinate relative to the face centre. */
  private sOf(p: Vec): number {
    return (p[0] - this.face.cx) * this.down[0] + (p[1] - this.face.cy) * this.down[1];
  }

  warp(motion: FrameMotion): FaceWarp {
    const terms: Term[] = [];
    const opening = clamp01(motion.mouth) * MOUTH_GAP * this.mouth.width;
    if (opening > 0) terms.push(new MouthTerm(this.mouth, opening));
    let bound = opening;
    for (const [shape, closure] of [
      [this.rightEye, clamp01(motion.rightEye)],
      [this.leftEye, clamp01(motion.leftEye)],
    ] as const)
      if (closure > 0 && shape.open > 0) {
        terms.push(new EyeTerm(shape, closure));
        bound += shape.open;
      }
    const field = new ExpressionField(
      terms,
      this.face.cx,
      this.face.cy,
      this.down[0],
      this.down[1],
      bound,
    );
    return new FaceWarp(field, this.face, motion);
  }
}

/**
 * The backward map of one frame, photo pixel coordinates in and out, and its exact inverse for
 * points. The similarity maps a photo point q to face + shift + scale R(angle) (q - face).
 */
export class FaceWarp {
  private readonly cos: number;
  private readonly sin: number;
  private readonly scale: number;
  private readonly shiftX: number;
  private readonly shiftY: number;
  private readonly out = [0, 0];

  constructor(
    readonly field: ExpressionField,
    readonly face: FaceFrame,
    readonly motion: FrameMotion,
  ) {
    this.cos = Math.cos(motion.angle);
    this.sin = Math.sin(motion.angle);
    this.scale = motion.scale;
    this.shiftX = motion.dx * face.size;
    this.shiftY = motion.dy * face.size;
  }

  /** Output (x, y) -> photo position, into out[0], out[1]; allocates nothing. */
  sourceInto(x: number, y: number, out: Float64Array | number[]): void {
    const px = x - this.face.cx - this.shiftX;
    const py = y - this.face.cy - this.shiftY;
    const u = this.face.cx + (this.cos * px + this.sin * py) / this.scale;
    const v = this.face.cy + (-this.sin * px + this.cos * py) / this.scale;
    if (this.field.empty) {
      out[0] = u;
      out[1] = v;
    } else this.field.backwardInto(u, v, out);
  }

  /** sourceInto for the points (x0 + i * step, y), i < count, into xs and ys (resampleCrop's). */
  sourceRow(
    x0: number,
    step: number,
    y: number,
    count: number,
    xs: Float64Array,
    ys: Float64Array,
  ): void {
    const k = 1 / this.scale;
    const px = x0 - this.face.cx - this.shiftX;
    const py = y - this.face.cy - this.shiftY;
    // The inverse similarity is affine: start and step along the row.
    const u = this.face.cx + (this.cos * px + this.sin * py) * k;
    const v = this.face.cy + (-this.sin * px + this.cos * py) * k;
    const du = this.cos * step * k;
    const dv = -this.sin * step * k;
    if (this.field.empty)
      for (let i = 0; i < count; i++) {
        xs[i] = u + i * du;
        ys[i] = v + i * dv;
      }
    else this.field.backwardRow(u, v, du, dv, count, xs, ys);
  }

  sourceOf(x: number, y: number): [number, number] {
    this.sourceInto(x, y, this.out);
    return [this.out[0]!, this.out[1]!];
  }

  /** det d source / d (x, y): the expression's 1 - d phi / d s over the similarity's scale^2. */
  jacobianDeterminant(x: number, y: number): number {
    const px = x - this.face.cx - this.shiftX;
    const py = y - this.face.cy - this.shiftY;
    const u = this.face.cx + (this.cos * px + this.sin * py) / this.scale;
    const v = this.face.cy + (-this.sin * px + this.cos * py) / this.scale;
    return this.field.determinant(u, v) / (this.scale * this.scale);
  }

  /** Photo (x, y) -> its output position: sourceOf's exact inverse. */
  forwardPoint(x: number, y: number): [number, number] {
    this.field.forwardInto(x, y, this.out);
    const qx = this.out[0]! - this.face.cx;
    const qy = this.out[1]! - this.face.cy;
    return [
      this.face.cx + this.shiftX + this.scale * (this.cos * qx - this.sin * qy),
      this.face.cy + this.shiftY + this.scale * (this.sin * qx + this.cos * qy),
    ];
  }

  /** forwardPoint for every point (photo coordinates in, output photo coordinates out). */
  forwardPoints(points: Points): Points {
    const out = new Float32Array(points.length);
    for (let i = 0; i < points.length; i += 2) {
      const [x, y] = this.forwardPoint(points[i]!, points[i + 1]!);
      out[i] = x;
      out[i + 1] = y;
    }
    return out;
  }
}
