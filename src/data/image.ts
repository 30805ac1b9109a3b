import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { UserError } from '../errors';
import { printable } from '../oneLine';

/** Decoded 8-bit RGB pixels, row-major, 3 bytes a pixel: the form frames travel in. */
export interface RgbImage {
  rgb: Uint8Array;
  width: number;
  height: number;
}

/** File extensions read as photos (person shots, synth sources). */
export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp', '.bmp', '.tif', '.tiff'];

/** The photos in a folder (not its sub-folders), by name; hidden files are left out. */
export function photosIn(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter(
      (name) =>
        !name.startsWith('.') && IMAGE_EXTENSIONS.includes(path.extname(name).toLowerCase()),
    )
    .sort()
    .map((name) => path.join(dir, name));
}

/** Decodes a photo to sRGB, EXIF orientation applied; an unreadable file is a UserError naming it. */
export async function readImage(file: string): Promise<RgbImage> {
  try {
    const { data, info } = await sharp(file)
      .rotate()
      .toColourspace('srgb')
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    return { rgb: new Uint8Array(data), width: info.width, height: info.height };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || /missing|not exist/i.test(message))
      throw new UserError(`${printable(file)}: no such file`);
    throw new UserError(`${printable(file)}: not a readable image: ${printable(message)}`);
  }
}

export async function encodeJpeg(image: RgbImage, quality: number): Promise<Uint8Array> {
  const raw = { width: image.width, height: image.height, channels: 3 as const };
  // 4:4:4 chroma: the landmark-aligned detail around lips and eyes is what the model learns from.
  const jpeg = await sharp(image.rgb, { raw })
    .jpeg({ quality, chromaSubsampling: '4:4:4' })
    .toBuffer();
  return new Uint8Array(jpeg);
}

export async function decodeJpeg(bytes: Uint8Array): Promise<RgbImage> {
  const { data, info } = await sharp(bytes)
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return {
    rgb: new Uint8Array(data.buffer, data.byteOffset, data.length),
    width: info.width,
    height: info.height,
  };
}

/** The image scaled to `size` x `size` (sharp's Lanczos-3: a downscale keeps its detail unaliased). */
export async function resizeRgb(image: RgbImage, size: number): Promise<RgbImage> {
  const raw = { width: image.width, height: image.height, channels: 3 as const };
  const data = await sharp(image.rgb, { raw }).resize(size, size, { fit: 'fill' }).raw().toBuffer();
  return {
    rgb: new Uint8Array(data.buffer, data.byteOffset, data.length),
    width: size,
    height: size,
  };
}

/** PNG bytes of the image, for an atomic write. */
export async function encodePng(image: RgbImage): Promise<Uint8Array> {
  const raw = { width: image.width, height: image.height, channels: 3 as const };
  return sharp(image.rgb, { raw }).png().toBuffer();
}
