import { UserError } from '../../errors';
import { printable } from '../../oneLine';
import { decodeJpeg, resizeRgb } from '../image';
import type { Points } from '../landmarks/points';
import type { DatasetStore } from './store';

// One store serves every model size up to its own: a store made at 256 px trains and evaluates
// 64, 128 and 256 px models, its frames resized as they are read and its landmarks scaled with
// them. A model larger than the store's frames would learn from upscaled blur: that stays an error.

/** Throws a UserError naming the store where its frames are smaller than `size` (`what`'s). */
export function checkStoreServes(store: DatasetStore, size: number, what: string): void {
  const stored = store.settings.size;
  if (stored < size)
    throw new UserError(
      `${printable(store.path)}: frames are ${stored} px, smaller than ${what} (${size} px) ` +
        `(a store serves models of its size and smaller; make it again with --size ${size})`,
    );
}

/** Stored frame `j` of video `key` as RGB bytes at `size` x `size`. */
export async function readFrameAt(
  store: DatasetStore,
  key: string,
  j: number,
  size: number,
): Promise<Uint8Array> {
  const stored = store.settings.size;
  const image = await decodeJpeg(store.readFrame(key, j));
  if (image.width !== stored || image.height !== stored)
    throw new UserError(
      `${printable(store.path)}: frame ${j} of ${key} is ${image.width}x${image.height}, not ${stored}x${stored}`,
    );
  return stored === size ? image.rgb : (await resizeRgb(image, size)).rgb;
}

/** Landmarks in a stored frame's pixels, in the pixels of that frame resized to `size`. */
export function pointsAt(points: Points, storedSize: number, size: number): Points {
  if (storedSize === size) return points;
  // Continuous pixel coordinates: the frame's edges map onto the resized frame's edges.
  const scale = size / storedSize;
  return points.map((v) => v * scale);
}
