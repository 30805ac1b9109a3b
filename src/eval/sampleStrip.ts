import type { RgbImage } from '../data/image';

/** Square size x size RGB frames side by side, left to right, as one image. */
export function sideBySide(frames: readonly Uint8Array[], size: number): RgbImage {
  const width = size * frames.length;
  const rgb = new Uint8Array(width * size * 3);
  frames.forEach((frame, k) => {
    if (frame.length !== size * size * 3)
      throw new Error(`frame ${k} has ${frame.length} bytes, not ${size * size * 3}`);
    for (let y = 0; y < size; y++)
      rgb.set(frame.subarray(y * size * 3, (y + 1) * size * 3), (y * width + k * size) * 3);
  });
  return { rgb, width, height: size };
}
