import * as fs from 'node:fs';
import { readImage, type RgbImage } from '../../src/data/image';
import { VideoWriter } from '../../src/data/video/encode';

export const GRACE_HOPPER = `${__dirname}/../fixtures/faces/grace_hopper.jpg`;
export const ASTRONAUT = `${__dirname}/../fixtures/faces/astronaut.png`;

/** A window of `image` at (left, top), size width x height; outside the image is black. */
function window(image: RgbImage, left: number, top: number, width: number, height: number) {
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const sy = top + y;
    if (sy < 0 || sy >= image.height) continue;
    for (let x = 0; x < width; x++) {
      const sx = left + x;
      if (sx < 0 || sx >= image.width) continue;
      out.set(
        image.rgb.subarray((sy * image.width + sx) * 3, (sy * image.width + sx) * 3 + 3),
        (y * width + x) * 3,
      );
    }
  }
  return out;
}

export interface FaceVideoOptions {
  frames: number;
  /** Frames (by index) replaced by a plain grey frame: no face there. */
  blank?: number[];
  width?: number;
  height?: number;
}

/**
 * A talking-head-like test video: a window panning slowly over a portrait, so the face moves a
 * few pixels a frame, as in a face-centred clip.
 */
export async function writeFaceVideo(
  file: string,
  photo: string,
  options: FaceVideoOptions,
): Promise<void> {
  const image = await readImage(photo);
  const width = options.width ?? 320;
  const height = options.height ?? 360;
  const writer = new VideoWriter(file, { width, height, fps: 25, crf: 16 });
  const x0 = Math.round((image.width - width) / 2);
  const y0 = Math.round((image.height - height) / 2);
  for (let t = 0; t < options.frames; t++) {
    const dx = Math.round(12 * Math.sin(t / 4));
    const dy = Math.round(6 * Math.cos(t / 5));
    const rgb = options.blank?.includes(t)
      ? new Uint8Array(width * height * 3).fill(128)
      : window(image, x0 + dx, y0 + dy, width, height);
    await writer.write(rgb);
  }
  await writer.close();
}

/** A video with no face: a moving colour gradient. */
export async function writeNoFaceVideo(file: string, frames: number): Promise<void> {
  const width = 160;
  const height = 120;
  const writer = new VideoWriter(file, { width, height, fps: 25, crf: 20 });
  for (let t = 0; t < frames; t++) {
    const rgb = new Uint8Array(width * height * 3);
    for (let i = 0; i < width * height; i++) {
      rgb[3 * i] = (i % width) + t * 4;
      rgb[3 * i + 1] = Math.floor(i / width) * 2;
      rgb[3 * i + 2] = 90;
    }
    await writer.write(rgb);
  }
  await writer.close();
}

/** The first half of a real mp4: ffprobe and ffmpeg both see the damage. */
export function writeTruncatedCopy(from: string, to: string): void {
  const bytes = fs.readFileSync(from);
  fs.writeFileSync(to, bytes.subarray(0, Math.floor(bytes.length / 2)));
}
