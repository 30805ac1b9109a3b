import sharp from 'sharp';
import { boundingBox, mapPoints, type Points } from './points';

/**
 * How a face is framed: one rule for training data, fine-tuning shots and driving videos alike
 * (a train/inference framing mismatch is the documented cause of noisy output in public ports).
 * The crop is a square centred on the landmarks' bounding box, `offsetY` sides below it (negative:
 * above, to take in the forehead and hair), with side = `scale` x the box's longer side.
 */
export interface CropGeometry {
  scale: number;
  offsetY: number;
}

/** VoxCeleb2-like framing: the head with some hair and neck, the face about half the width. */
export const DEFAULT_CROP: CropGeometry = { scale: 1.8, offsetY: -0.1 };

/** A square region of the source image, in whole pixels; it may extend past the image edges. */
export interface CropBox {
  left: number;
  top: number;
  size: number;
}

export function cropBoxFromPoints(points: Points, geometry: CropGeometry = DEFAULT_CROP): CropBox {
  const box = boundingBox(points);
  const side = Math.max(2, Math.round(geometry.scale * Math.max(box.width, box.height)));
  const cx = box.left + box.width / 2;
  const cy = box.top + box.height / 2 + geometry.offsetY * side;
  return { left: Math.round(cx - side / 2), top: Math.round(cy - side / 2), size: side };
}

/** Source-image points -> points in the crop resized to outSize x outSize. */
export function pointsInCrop(points: Points, box: CropBox, outSize: number): Points {
  const s = outSize / box.size;
  return mapPoints(points, { a: s, b: 0, c: 0, d: s, tx: -box.left * s, ty: -box.top * s });
}

/**
 * Cuts the box out of a row-major RGB image and resizes it to outSize x outSize (Lanczos, so a
 * large source is antialiased). Parts of the box outside the image are black, as VoxCeleb2's
 * zero-padded crops are.
 */
export async function cropImage(
  rgb: Uint8Array,
  width: number,
  height: number,
  box: CropBox,
  outSize: number,
): Promise<Uint8Array> {
  const x0 = Math.max(0, box.left);
  const y0 = Math.max(0, box.top);
  const x1 = Math.min(width, box.left + box.size);
  const y1 = Math.min(height, box.top + box.size);
  if (x1 <= x0 || y1 <= y0) return new Uint8Array(outSize * outSize * 3);
  const raw = { width, height, channels: 3 as const };
  const square = await sharp(rgb, { raw })
    .extract({ left: x0, top: y0, width: x1 - x0, height: y1 - y0 })
    .extend({
      left: x0 - box.left,
      top: y0 - box.top,
      right: box.left + box.size - x1,
      bottom: box.top + box.size - y1,
      background: { r: 0, g: 0, b: 0 },
    })
    .raw()
    .toBuffer();
  if (box.size === outSize) return new Uint8Array(square);
  const resized = await sharp(square, { raw: { width: box.size, height: box.size, channels: 3 } })
    .resize(outSize, outSize, { kernel: 'lanczos3' })
    .raw()
    .toBuffer();
  return new Uint8Array(resized);
}
