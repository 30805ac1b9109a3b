import { LEFT_EYE, RIGHT_EYE } from '../landmarks/parts';
import { boundingBox, centroid, POINT_COUNT, type Points } from '../landmarks/points';
import type { FrameMotion } from './motion';

/**
 * One synthetic frame's warp of the photo, as a backward map (output position -> photo position,
 * what pixel pulling needs) with an exact inverse for the landmarks.
 *
 * backward = local warp^-1 ∘ similarity^-1: first undo the head's rotation, scale and shift about
 * the face centre, then undo the expression (mouth, eyes). The expression's backward map is
 * FLOW_STEPS repeats of p -> p - down * phi(p) / FLOW_STEPS, phi a sum of Gaussian RBFs, i.e. the
 * flow of a stationary velocity field. Why several steps rather than the one displacement: a
 * single Gaussian sum that stays a diffeomorphism (d phi / d down < 1) can at best halve a gap
 * (an eye) and stretch one only so far; composing steps, each a diffeomorphism, multiplies their
 * compressions and stretches, so eyes close to a few percent and thin mouth gaps open wide.
 *
 * Every RBF pushes along the face's one `down` direction, so a step moves points only along
 * `down`: it is a family of increasing 1-D maps, one per line, and its inverse is a 1-D root
 * (the rank-1 form of the 2x2 Newton system) found by safeguarded Newton to ~1e-10 px.
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

/** Steps of the expression flow. */
export const FLOW_STEPS = 4;
/** The most any step may stretch along `down`: its backward slope stays >= 1 - this > 0. */
const MAX_STEP_SLOPE = 0.8;
/** Inner-lip gap added at mouth = 1, in mouth widths (a wide-open mouth). */
const MOUTH_GAP = 0.5;
/** How much of the mouth's opening goes to the upper lip (the jaw takes the rest). */
const UPPER_LIP_SHARE = 0.25;
/** Lid gap left at closure 1, as a fraction of the open gap. */
const CLOSED_EYE_GAP = 0.05;
/**
 * The smallest gap (face sizes) a part is given to work on: no diffeomorphism can open a gap of
 * 0, so shut lips are first set this far apart (openInnerLips) and a shut eye is closed through
 * a virtual gap this big.
 */
const MIN_GAP = 0.01;
/** RBFs this weak (px) are left out. */
const NEGLIGIBLE = 1e-9;

/**
 * One Gaussian RBF along `down`, weight * exp(-r^2 / (2 radius^2)), evaluated in the compact form
 * weight * (1 - r^2 / (16 radius^2))^8 (the (1 - x/n)^n limit of exp(-x)): within 0.04 of the
 * Gaussian, C^7, zero beyond 4 radii, and three multiplications instead of an exp, which is what
 * makes a frame take milliseconds. sourceOf, its Jacobian and its inverse all use this kernel.
 */
export interface Rbf {
  x: number;
  y: number;
  radius: number;
  weight: number;
}

/**
 * The expression warp: `steps` repeats of p -> p - down * phi(p), phi = sum of the RBFs (their
 * weights already per step). Each step must have d phi / d down < 1 everywhere.
 */
export class RbfFlow {
  private readonly cx: Float64Array;
  private readonly cy: Float64Array;
  private readonly weight: Float64Array;
  /** 1 / (16 radius^2): the kernel is (1 - r^2 inv)^8 where r^2 inv < 1. */
  private readonly inv: Float64Array;
  /** sup |phi|: brackets a step's inverse. */
  private readonly bound: number;
  /** The box holding every RBF's support: outside it phi is 0, a one-test answer. */
  private readonly box = { left: Infinity, top: Infinity, right: -Infinity, bottom: -Infinity };
  private readonly grad = new Float64Array(3);

  constructor(
    terms: readonly Rbf[],
    readonly downX: number,
    readonly downY: number,
    readonly steps: number,
  ) {
    const used = terms.filter((t) => Math.abs(t.weight) > NEGLIGIBLE);
    this.cx = Float64Array.from(used, (t) => t.x);
    this.cy = Float64Array.from(used, (t) => t.y);
    this.weight = Float64Array.from(used, (t) => t.weight);
    this.inv = Float64Array.from(used, (t) => 1 / (16 * t.radius * t.radius));
    this.bound = used.reduce((sum, t) => sum + Math.abs(t.weight), 0);
    for (const t of used) {
      this.box.left = Math.min(this.box.left, t.x - 4 * t.radius);
      this.box.right = Math.max(this.box.right, t.x + 4 * t.radius);
      this.box.top = Math.min(this.box.top, t.y - 4 * t.radius);
      this.box.bottom = Math.max(this.box.bottom, t.y + 4 * t.radius);
    }
  }

  get empty(): boolean {
    return this.weight.length === 0;
  }

  phi(x: number, y: number): number {
    const box = this.box;
    if (x <= box.left || x >= box.right || y <= box.top || y >= box.bottom) return 0;
    let sum = 0;
    for (let k = 0; k < this.weight.length; k++) {
      const ex = x - this.cx[k]!;
      const ey = y - this.cy[k]!;
      const t = (ex * ex + ey * ey) * this.inv[k]!;
      if (t >= 1) continue;
      const p2 = (1 - t) * (1 - t);
      const p4 = p2 * p2;
      sum += this.weight[k]! * p4 * p4;
    }
    return sum;
  }

  /** phi and its gradient into this.grad. */
  private phiGrad(x: number, y: number): Float64Array {
    let sum = 0;
    let gx = 0;
    let gy = 0;
    for (let k = 0; k < this.weight.length; k++) {
      const ex = x - this.cx[k]!;
      const ey = y - this.cy[k]!;
      const t = (ex * ex + ey * ey) * this.inv[k]!;
      if (t >= 1) continue;
      const p = 1 - t;
      const p2 = p * p;
      const p4 = p2 * p2;
      const w = this.weight[k]!;
      sum += w * p4 * p4;
      // d/dx p^8 = 8 p^7 * (-2 inv ex)
      const dv = -16 * this.inv[k]! * w * p4 * p2 * p;
      gx += dv * ex;
      gy += dv * ey;
    }
    const g = this.grad;
    g[0] = sum;
    g[1] = gx;
    g[2] = gy;
    return g;
  }

  /** Output -> source (all steps), written to out[0], out[1]. The pixel loop's hot path. */
  backwardInto(x: number, y: number, out: Float64Array | number[]): void {
    const { cx, cy, weight, inv, box, downX, downY } = this;
    const n = weight.length;
    for (let s = 0; s < this.steps; s++) {
      // Outside every support phi is 0, and the remaining steps leave the point where it is.
      if (x <= box.left || x >= box.right || y <= box.top || y >= box.bottom) break;
      let f = 0;
      for (let k = 0; k < n; k++) {
        const ex = x - cx[k]!;
        const ey = y - cy[k]!;
        const t = (ex * ex + ey * ey) * inv[k]!;
        if (t >= 1) continue;
        const p2 = (1 - t) * (1 - t);
        const p4 = p2 * p2;
        f += weight[k]! * p4 * p4;
      }
      if (f === 0) break;
      x -= downX * f;
      y -= downY * f;
    }
    out[0] = x;
    out[1] = y;
  }

  /**
   * The backward map's Jacobian, chained onto m = [m00, m01, m10, m11] (the Jacobian of what
   * came before, at the point that reached (x, y)): each step's is I - down grad(phi)^T.
   */
  backwardJacobian(x: number, y: number, m: number[]): void {
    for (let s = 0; s < this.steps; s++) {
      const g = this.phiGrad(x, y);
      const a = 1 - this.downX * g[1]!;
      const b = -this.downX * g[2]!;
      const c = -this.downY * g[1]!;
      const d = 1 - this.downY * g[2]!;
      const [m00, m01, m10, m11] = m as [number, number, number, number];
      m[0] = a * m00 + b * m10;
      m[1] = a * m01 + b * m11;
      m[2] = c * m00 + d * m10;
      m[3] = c * m01 + d * m11;
      x -= this.downX * g[0]!;
      y -= this.downY * g[0]!;
    }
  }

  /** Source -> output: the exact inverse of backwardInto, step by step in reverse. */
  forwardInto(x: number, y: number, out: Float64Array | number[]): void {
    for (let s = 0; s < this.steps; s++) {
      const tau = this.invertStep(x, y);
      x += this.downX * tau;
      y += this.downY * tau;
    }
    out[0] = x;
    out[1] = y;
  }

  /**
   * The tau with q + tau down = p and p - down phi(p) = q, i.e. h(tau) = tau - phi(q + tau down)
   * = 0. h' = 1 - d phi / d down > 0, so the root is unique and lies in [-bound, bound]; Newton
   * from the forward estimate tau = phi(q), falling back to bisection if it leaves the bracket.
   */
  private invertStep(qx: number, qy: number): number {
    let lo = -this.bound - 1;
    let hi = this.bound + 1;
    let tau = this.phi(qx, qy);
    for (let i = 0; i < 200; i++) {
      const g = this.phiGrad(qx + tau * this.downX, qy + tau * this.downY);
      const h = tau - g[0]!;
      if (Math.abs(h) < 1e-10) return tau;
      if (h > 0) hi = tau;
      else lo = tau;
      let next = tau - h / (1 - this.downX * g[1]! - this.downY * g[2]!);
      if (!(next > lo && next < hi)) next = (lo + hi) / 2;
      tau = next;
    }
    throw new Error(`RbfFlow: inverse did not converge at (${qx}, ${qy})`);
  }
}

/**
 * The largest d phi / d down of unit-weight terms, by dense sampling around them (a 2% margin
 * covers the grid's spacing): what limits the amplitude of one flow step.
 */
function maxDownSlope(terms: readonly Rbf[], downX: number, downY: number): number {
  const flow = new RbfFlow(terms, downX, downY, 1);
  const rMin = Math.min(...terms.map((t) => t.radius));
  const rMax = Math.max(...terms.map((t) => t.radius));
  // Face-aligned coordinates: u across, v along down.
  const along = terms.map((t) => t.x * downX + t.y * downY);
  const across = terms.map((t) => -t.x * downY + t.y * downX);
  const v0 = Math.min(...along) - 4 * rMax;
  const v1 = Math.max(...along) + 4 * rMax;
  const u0 = Math.min(...across) - 4 * rMax;
  const u1 = Math.max(...across) + 4 * rMax;
  const dv = rMin / 25;
  const du = rMin / 8;
  const eps = rMin * 1e-4;
  let best = 0;
  for (let u = u0; u <= u1; u += du)
    for (let v = v0; v <= v1; v += dv) {
      const x = u * -downY + v * downX;
      const y = u * downX + v * downY;
      const slope =
        (flow.phi(x + eps * downX, y + eps * downY) - flow.phi(x - eps * downX, y - eps * downY)) /
        (2 * eps);
      best = Math.max(best, slope);
    }
  return best * 1.02;
}

/**
 * One expression part (the mouth, an eye): RBFs of unit amplitude whose amplitude sets the
 * distance along `down` between two control points, from `gap0` towards a target.
 */
interface Part {
  terms: Rbf[];
  from: readonly [number, number];
  to: readonly [number, number];
  gap0: number;
  /** The amplitude beyond which a step would stretch more than MAX_STEP_SLOPE. */
  maxAmplitude: number;
}

type Vec = readonly [number, number];
const add = (p: Vec, q: Vec, k = 1): Vec => [p[0] + k * q[0], p[1] + k * q[1]];
const dot = (p: Vec, q: Vec): number => p[0] * q[0] + p[1] * q[1];
const dist = (p: Vec, q: Vec): number => Math.hypot(p[0] - q[0], p[1] - q[1]);
const point = (points: Points, i: number): Vec => [points[2 * i]!, points[2 * i + 1]!];

function part(terms: Rbf[], from: Vec, to: Vec, gap0: number, down: Vec): Part {
  const slope = maxDownSlope(terms, down[0], down[1]);
  return { terms, from, to, gap0, maxAmplitude: (MAX_STEP_SLOPE * FLOW_STEPS) / slope };
}

/** The compact Gaussian kernel at rho radii from its centre. */
const kernel = (rho: number) => Math.max(0, 1 - (rho * rho) / 16) ** 8;

/**
 * The mouth opens about a line UPPER_LIP_SHARE of the way down the inner-lip gap. A downward RBF
 * centred a little past halfway from that line to the chin drops the jaw: the chin and lower lip
 * move down, and its slope at the line stretches the gap open (the lower lip thickens somewhat
 * too: a Gaussian's steep zone is wider than the gap). A weaker upward RBF centred on the line
 * cancels the jaw RBF's tail there, so the upper lip moves only a little (up) and the nose stays.
 */
function mouthPart(points: Points, down: Vec): Part {
  const upper = centroid(points, [61, 62, 63]);
  const lower = centroid(points, [65, 66, 67]);
  const gap = dot(add(lower, upper, -1), down);
  const mid = add(upper, lower);
  const line = add([mid[0] / 2, mid[1] / 2], down, (UPPER_LIP_SHARE - 0.5) * gap);
  const toChin = Math.max(dot(add(point(points, 8), line, -1), down), 4 * gap);
  const toNose = Math.max(dot(add(line, point(points, 33), -1), down), 2 * gap);
  const jawAt = 0.55 * toChin;
  const jaw = 0.45 * toChin;
  const terms: Rbf[] = [
    { ...xy(add(line, down, jawAt)), radius: jaw, weight: 1 },
    { ...xy(line), radius: 0.45 * toNose, weight: -kernel(jawAt / jaw) },
  ];
  const from = add(line, down, -UPPER_LIP_SHARE * gap);
  const to = add(line, down, (1 - UPPER_LIP_SHARE) * gap);
  return part(terms, from, to, gap, down);
}

/**
 * An eye closes onto its lower lid: a downward RBF above the lid line and an equal upward one
 * below it cancel on the line (the lower lid stays) and squeeze the eye's opening between them.
 */
function eyePart(points: Points, eye: readonly number[], down: Vec, faceSize: number): Part {
  const upper = centroid(points, [eye[1]!, eye[2]!]);
  const lower = centroid(points, [eye[4]!, eye[5]!]);
  const gap = Math.max(dot(add(lower, upper, -1), down), MIN_GAP * faceSize);
  const width = dist(point(points, eye[0]!), point(points, eye[3]!));
  const radius = Math.max(width / 3, gap);
  const offset = Math.max(0.8 * radius, gap);
  const terms: Rbf[] = [
    { ...xy(add(lower, down, -offset)), radius, weight: 1 },
    { ...xy(add(lower, down, offset)), radius, weight: -1 },
  ];
  return part(terms, add(lower, down, -gap), lower, gap, down);
}

/**
 * The photo's points with the inner lips at least MIN_GAP face sizes apart (along `down`): lips
 * that touch in the photo sit on one seam, and no continuous warp can take two points that
 * coincide apart, so the upper ones are moved just above it and the lower ones just below.
 * A no-op for any mouth already that open.
 */
function openInnerLips(points: Points, down: Vec, faceSize: number): Points {
  const gap = dot(add(centroid(points, [65, 66, 67]), centroid(points, [61, 62, 63]), -1), down);
  const push = (MIN_GAP * faceSize - gap) / 2;
  if (push <= 0) return points;
  const out = Float32Array.from(points);
  for (const [indices, sign] of [
    [[61, 62, 63], -1],
    [[65, 66, 67], 1],
  ] as const)
    for (const i of indices) {
      out[2 * i] += sign * push * down[0];
      out[2 * i + 1] += sign * push * down[1];
    }
  return out;
}

const xy = (p: Vec) => ({ x: p[0], y: p[1] });

/**
 * Per-photo precomputation (face frame, `down`, each part's RBF shape and amplitude limit) from
 * which each frame's FaceWarp is made.
 */
export class FaceRig {
  readonly face: FaceFrame;
  /** Unit vector from the eyes towards the mouth (perpendicular to the eye line). */
  readonly down: Vec;
  /**
   * The points the warps move: the photo's, with shut inner lips set apart (openInnerLips).
   * FaceWarp.forwardPoints(rig.points) gives a frame's landmarks.
   */
  readonly points: Points;
  private readonly mouth: Part;
  private readonly rightEye: Part;
  private readonly leftEye: Part;
  /** Mouth width (corner to corner, px): the mouth's opening scales with it. */
  private readonly mouthWidth: number;

  constructor(photoPoints: Points, face: FaceFrame = faceFrameOf(photoPoints)) {
    if (photoPoints.length !== POINT_COUNT * 2) throw new Error('FaceRig needs 68 points');
    this.face = face;
    const right = centroid(photoPoints, RIGHT_EYE);
    const left = centroid(photoPoints, LEFT_EYE);
    const across = Math.hypot(left[0] - right[0], left[1] - right[1]);
    this.down = [-(left[1] - right[1]) / across, (left[0] - right[0]) / across];
    const points = openInnerLips(photoPoints, this.down, face.size);
    this.points = points;
    this.mouth = mouthPart(points, this.down);
    this.rightEye = eyePart(points, RIGHT_EYE, this.down, face.size);
    this.leftEye = eyePart(points, LEFT_EYE, this.down, face.size);
    this.mouthWidth = dist(point(points, 48), point(points, 54));
  }

  warp(motion: FrameMotion): FaceWarp {
    const mouthTarget = this.mouth.gap0 + clamp01(motion.mouth) * MOUTH_GAP * this.mouthWidth;
    const eyeTarget = (p: Part, closure: number) =>
      p.gap0 * (1 - clamp01(closure) * (1 - CLOSED_EYE_GAP));
    const terms = [
      ...this.scaled(this.mouth, mouthTarget),
      ...this.scaled(this.rightEye, eyeTarget(this.rightEye, motion.rightEye)),
      ...this.scaled(this.leftEye, eyeTarget(this.leftEye, motion.leftEye)),
    ];
    const flow = new RbfFlow(terms, this.down[0], this.down[1], FLOW_STEPS);
    return new FaceWarp(flow, this.face, motion);
  }

  /** The part's terms at the amplitude that brings its gap to `target`, per step. */
  private scaled(p: Part, target: number): Rbf[] {
    const amplitude = this.amplitude(p, target);
    return p.terms.map((t) => ({ ...t, weight: (t.weight * amplitude) / FLOW_STEPS }));
  }

  /**
   * Bisection on the amplitude: the gap is monotonic in it (more flow, more stretch or squeeze).
   * Targets beyond MAX_STEP_SLOPE's reach get the largest amplitude allowed.
   */
  private amplitude(p: Part, target: number): number {
    if (Math.abs(target - p.gap0) < 1e-9 * this.face.size) return 0;
    const opening = target > p.gap0;
    const out = [0, 0];
    const gapAt = (amplitude: number) => {
      const flow = new RbfFlow(
        p.terms.map((t) => ({ ...t, weight: (t.weight * amplitude) / FLOW_STEPS })),
        this.down[0],
        this.down[1],
        FLOW_STEPS,
      );
      flow.forwardInto(p.from[0], p.from[1], out);
      const from: Vec = [out[0]!, out[1]!];
      flow.forwardInto(p.to[0], p.to[1], out);
      return dot(add([out[0]!, out[1]!], from, -1), this.down);
    };
    let lo = 0;
    let hi = p.maxAmplitude;
    if (opening ? gapAt(hi) <= target : gapAt(hi) >= target) return hi;
    for (let i = 0; i < 50; i++) {
      const mid = (lo + hi) / 2;
      if (gapAt(mid) < target === opening) lo = mid;
      else hi = mid;
    }
    return (lo + hi) / 2;
  }
}

const clamp01 = (v: number) => Math.min(1, Math.max(0, v));

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
    readonly flow: RbfFlow,
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
    if (this.flow.empty) {
      out[0] = u;
      out[1] = v;
    } else this.flow.backwardInto(u, v, out);
  }

  sourceOf(x: number, y: number): [number, number] {
    this.sourceInto(x, y, this.out);
    return [this.out[0]!, this.out[1]!];
  }

  /** d source / d (x, y) as [dsx/dx, dsx/dy, dsy/dx, dsy/dy]. */
  jacobian(x: number, y: number): [number, number, number, number] {
    const k = 1 / this.scale;
    const m = [this.cos * k, this.sin * k, -this.sin * k, this.cos * k];
    const px = x - this.face.cx - this.shiftX;
    const py = y - this.face.cy - this.shiftY;
    const u = this.face.cx + (this.cos * px + this.sin * py) * k;
    const v = this.face.cy + (-this.sin * px + this.cos * py) * k;
    this.flow.backwardJacobian(u, v, m);
    return m as [number, number, number, number];
  }

  /** Photo (x, y) -> its output position: sourceOf's exact inverse. */
  forwardPoint(x: number, y: number): [number, number] {
    this.flow.forwardInto(x, y, this.out);
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
