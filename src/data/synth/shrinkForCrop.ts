import sharp from 'sharp';
import type { RgbImage } from '../image';
import { cropBoxFromPoints, type CropGeometry } from '../landmarks/crop';
import { mapPoints, type Points } from '../landmarks/points';

/**
 * The photo (and the face's points with it) scaled down, with antialiasing, so that the face's
 * crop is about `size` pixels; a photo already small enough is returned as it is. Scaling by s maps
 * continuous coordinates x -> s x, which is what sharp's resize does to pixel edges.
 */
export async function shrinkForCrop(
  image: RgbImage,
  points: Points,
  size: number,
  crop: CropGeometry,
): Promise<{ photo: RgbImage; points: Points }> {
  const box = cropBoxFromPoints(points, crop);
  if (box.size <= size * 1.25) return { photo: image, points };
  const width = Math.max(1, Math.round((image.width * size) / box.size));
  const height = Math.max(1, Math.round((image.height * size) / box.size));
  const raw = { width: image.width, height: image.height, channels: 3 as const };
  const data = await sharp(image.rgb, { raw })
    .resize(width, height, { fit: 'fill', kernel: 'lanczos3' })
    .raw()
    .toBuffer();
  const sx = width / image.width;
  const sy = height / image.height;
  return {
    photo: { rgb: new Uint8Array(data), width, height },
    points: mapPoints(points, { a: sx, b: 0, c: 0, d: sy, tx: 0, ty: 0 }),
  };
}
