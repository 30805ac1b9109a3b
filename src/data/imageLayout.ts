/** Composing RGB images into one: grids for TensorBoard, side-by-side panels for videos and strips. */
import type { RgbImage } from './image';

/**
 * Tiles equal-size RGB images into one: `images[r][c]` goes to row r, column c, with `pad` black
 * pixels between and around the cells (rows may be shorter than the longest; their missing
 * cells stay black). Used for landmark | real | generated grids.
 */
export function imageGrid(images: RgbImage[][], pad = 2): RgbImage {
  if (!Number.isInteger(pad) || pad < 0) throw new RangeError(`pad ${pad} must be an integer >= 0`);
  const first = images.find((row) => row.length > 0)?.[0];
  if (first === undefined) throw new Error('imageGrid needs at least one image');
  const { width: w, height: h } = first;
  const cols = Math.max(...images.map((row) => row.length));
  const width = cols * w + (cols + 1) * pad;
  const height = images.length * h + (images.length + 1) * pad;
  const rgb = new Uint8Array(width * height * 3);
  images.forEach((row, r) =>
    row.forEach((cell, c) => {
      checkRgbImage(cell, `imageGrid cell [${r}][${c}]`);
      if (cell.width !== w || cell.height !== h)
        throw new Error(
          `imageGrid cell [${r}][${c}] is ${cell.width}x${cell.height}, the first is ${w}x${h}`,
        );
      const x0 = pad + c * (w + pad);
      const y0 = pad + r * (h + pad);
      for (let y = 0; y < h; y++)
        rgb.set(cell.rgb.subarray(y * w * 3, (y + 1) * w * 3), ((y0 + y) * width + x0) * 3);
    }),
  );
  return { rgb, width, height };
}

/**
 * Square `size` x `size` RGB panels (row-major bytes) left to right, touching, as one image:
 * driver | landmarks | output frames, landmarks | real | methods sample strips.
 */
export function sideBySide(panels: readonly Uint8Array[], size: number): RgbImage {
  return imageGrid([panels.map((rgb) => ({ rgb, width: size, height: size }))], 0);
}

/** Throws a RangeError (starting with `what`) unless `image` is a positive size with its bytes. */
export function checkRgbImage(image: RgbImage, what: string): void {
  const { width, height, rgb } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0)
    throw new RangeError(`${what}: size ${width}x${height} must be positive integers`);
  if (rgb.length !== width * height * 3)
    throw new RangeError(
      `${what}: ${rgb.length} bytes, ${width}x${height} RGB needs ${width * height * 3}`,
    );
}
