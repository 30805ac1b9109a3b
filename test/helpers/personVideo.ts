import * as path from 'node:path';
import { readImage } from '../../src/data/image';
import { FaceLandmarker, squareAround } from '../../src/data/landmarks/landmarker';
import { synthesiseClip } from '../../src/data/synth/clip';
import { shrinkForCrop } from '../../src/data/synth/shrinkForCrop';
import { VideoWriter } from '../../src/data/video/encode';

/** The face-api sample portraits (the embedded default faces), by number 1-6. */
export function facePhoto(n: number): string {
  return path.join(
    path.dirname(require.resolve('@vladmandic/face-api/package.json')),
    'demo',
    `sample${n}.jpg`,
  );
}

/**
 * A synthetic talking-head video of the largest face in `photo` (synth's motion: head, mouth,
 * eyes), `size` x `size` at 25 fps: a person that no store made from other photos contains.
 */
export async function writeSynthPersonVideo(
  file: string,
  photo: string,
  options: { frames: number; size: number; seed: number },
): Promise<void> {
  const landmarker = await FaceLandmarker.load();
  const image = await readImage(photo);
  const [face] = await landmarker.detectFaces(image);
  if (!face) throw new Error(`${photo}: no face`);
  const found = await landmarker.landmarksIn(image, squareAround(face));
  // Framed wider than the project's crop rule, so the face crop of every frame has real pixels
  // around it, as a camera's frame would.
  const wide = { scale: 2.6, offsetY: -0.1 };
  const shrunk = await shrinkForCrop(image, found, options.size, wide);
  const clip = synthesiseClip(shrunk.photo, shrunk.points, {
    frames: options.frames,
    size: options.size,
    seed: options.seed,
    crop: wide,
  });
  const writer = new VideoWriter(file, {
    width: options.size,
    height: options.size,
    fps: 25,
    crf: 12,
  });
  for (const frame of clip.frames) await writer.write(frame);
  await writer.close();
}
