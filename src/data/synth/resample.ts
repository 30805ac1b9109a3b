import type { RgbImage } from '../image';
import type { CropBox } from '../landmarks/crop';

/** Output position -> photo position, both continuous pixel coordinates. */
export interface BackwardMap {
  /** The photo positions of the output points (x0 + i * step, y), i < count, into xs and ys. */
  sourceRow(
    x0: number,
    step: number,
    y: number,
    count: number,
    xs: Float64Array,
    ys: Float64Array,
  ): void;
}

/**
 * Fills an outSize x outSize RGB crop by pulling: crop pixel (c, r) has its centre at
 * (box.left + (c + 0.5) * box.size / outSize, box.top + (r + 0.5) * box.size / outSize) in the
 * photo frame, `map` (if any) takes that to the photo position to read, and the photo is read
 * bilinearly between its pixel centres (i + 0.5, j + 0.5), clamped to the edge pixels. With no
 * map and box.size === outSize this copies the photo's pixels exactly.
 *
 * No antialiasing: the synthetic corpus crops at about the photo's own scale.
 */
export function resampleCrop(
  photo: RgbImage,
  box: CropBox,
  outSize: number,
  map?: BackwardMap,
  out: Uint8Array = new Uint8Array(outSize * outSize * 3),
): Uint8Array {
  const { rgb, width, height } = photo;
  if (rgb.length !== width * height * 3)
    throw new Error(`photo: ${rgb.length} bytes for ${width}x${height} RGB`);
  if (out.length !== outSize * outSize * 3) throw new Error('resampleCrop: wrong output size');
  const step = box.size / outSize;
  const maxX = width - 1;
  const maxY = height - 1;
  const row = width * 3;
  // A row at a time: one call per row, not per pixel, into the map.
  const xs = new Float64Array(outSize);
  const ys = new Float64Array(outSize);
  let o = 0;
  for (let r = 0; r < outSize; r++) {
    const y = box.top + (r + 0.5) * step;
    if (map) map.sourceRow(box.left + 0.5 * step, step, y, outSize, xs, ys);
    else
      for (let c = 0; c < outSize; c++) {
        xs[c] = box.left + (c + 0.5) * step;
        ys[c] = y;
      }
    for (let c = 0; c < outSize; c++) {
      let fx = xs[c]! - 0.5;
      let fy = ys[c]! - 0.5;
      // Clamping the position is clamp-to-edge: beyond the last centre every read is the edge.
      fx = fx < 0 ? 0 : fx > maxX ? maxX : fx;
      fy = fy < 0 ? 0 : fy > maxY ? maxY : fy;
      const x0 = fx | 0;
      const y0 = fy | 0;
      const tx = fx - x0;
      const ty = fy - y0;
      const i00 = y0 * row + x0 * 3;
      const i01 = x0 < maxX ? i00 + 3 : i00;
      const i10 = y0 < maxY ? i00 + row : i00;
      const i11 = i10 + (i01 - i00);
      const w00 = (1 - tx) * (1 - ty);
      const w01 = tx * (1 - ty);
      const w10 = (1 - tx) * ty;
      const w11 = tx * ty;
      // + 0.5 then the Uint8Array store's truncation: rounding, and at most 255.5 -> 255.
      out[o] = w00 * rgb[i00]! + w01 * rgb[i01]! + w10 * rgb[i10]! + w11 * rgb[i11]! + 0.5;
      out[o + 1] =
        w00 * rgb[i00 + 1]! + w01 * rgb[i01 + 1]! + w10 * rgb[i10 + 1]! + w11 * rgb[i11 + 1]! + 0.5;
      out[o + 2] =
        w00 * rgb[i00 + 2]! + w01 * rgb[i01 + 2]! + w10 * rgb[i10 + 2]! + w11 * rgb[i11 + 2]! + 0.5;
      o += 3;
    }
  }
  return out;
}
