import type { Affine, Points } from '../landmarks/points';

/** Centroid and RMS distance from it of a point set: its position and scale. */
export function placement(points: Points): { cx: number; cy: number; scale: number } {
  const n = points.length / 2;
  let cx = 0;
  let cy = 0;
  for (let i = 0; i < n; i++) {
    cx += points[2 * i]!;
    cy += points[2 * i + 1]!;
  }
  cx /= n;
  cy /= n;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += (points[2 * i]! - cx) ** 2 + (points[2 * i + 1]! - cy) ** 2;
  return { cx, cy, scale: Math.sqrt(sum / n) };
}

/**
 * The map that puts the driver's reference geometry (its mean landmarks) onto the person's
 * (the shots' mean landmarks): a scale about the centroid and a shift, no rotation or shear, so
 * the driver's head motion and expressions carry over while a bigger, smaller or off-centre
 * driving face does not distort the person's identity.
 */
export function retargetMap(driverReference: Points, personReference: Points): Affine {
  const from = placement(driverReference);
  const to = placement(personReference);
  const s = from.scale > 0 ? to.scale / from.scale : 1;
  return { a: s, b: 0, c: 0, d: s, tx: to.cx - s * from.cx, ty: to.cy - s * from.cy };
}
