import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';

/** A pixel rectangle in the source image. */
export interface CropBox {
  left: number;
  top: number;
  width: number;
  height: number;
}

export interface LoadImageOptions {
  /** Cut this box out first (pixels of the decoded image). */
  crop?: CropBox;
  /** Then resize to size x size (stretching if the box is not square). */
  size?: number;
}

/** Decoded 8-bit RGB pixels, row-major, 3 bytes a pixel. */
export interface RgbPixels {
  data: Uint8Array;
  width: number;
  height: number;
}

/** Decodes a JPEG/PNG file to 8-bit sRGB, cropped and resized as asked. */
export async function loadImagePixels(
  file: string,
  options: LoadImageOptions = {},
): Promise<RgbPixels> {
  // rotate() applies the EXIF orientation; toColourspace/removeAlpha give exactly 3 channels.
  let image = sharp(file).rotate().toColourspace('srgb').removeAlpha();
  if (options.crop) image = image.extract(options.crop);
  if (options.size) image = image.resize(options.size, options.size, { fit: 'fill' });
  const { data, info } = await image.raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`${file}: decoded to ${info.channels} channels`);
  return { data: new Uint8Array(data), width: info.width, height: info.height };
}

/** An image file as a [1, height, width, 3] float32 RGB tensor in [0, 1]. */
export async function loadImageTensor(
  file: string,
  options: LoadImageOptions = {},
): Promise<tf.Tensor4D> {
  const { data, width, height } = await loadImagePixels(file, options);
  const values = Float32Array.from(data, (v) => v / 255);
  return tf.tensor4d(values, [1, height, width, 3]);
}

/** Writes a [1, h, w, 3] or [h, w, 3] tensor in [0, 1] as a PNG, to look at while debugging. */
export async function saveImagePng(image: tf.Tensor, file: string): Promise<void> {
  const [height, width] = image.shape.slice(-3, -1) as [number, number];
  const values = await image.data();
  const bytes = Uint8Array.from(values, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255));
  await sharp(bytes, { raw: { width, height, channels: 3 } })
    .png()
    .toFile(file);
}
