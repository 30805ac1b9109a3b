import * as path from 'node:path';
import { readImage } from '../../src/data/image';
import { FaceLandmarker } from '../../src/data/landmarks/landmarker';
import { writeSynthVideo } from '../../src/data/synth/synthVideo';

/** The face-api sample portraits (the embedded default faces), by number 1-6. */
export function facePhoto(n: number): string {
  return path.join(
    path.dirname(require.resolve('@vladmandic/face-api/package.json')),
    'demo',
    `sample${n}.jpg`,
  );
}

/**
 * A synthetic talking-head video of the first face found in `photo`, `size` x `size` at 25 fps:
 * a person that no store made from other photos contains.
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
  await writeSynthVideo(file, image, face, landmarker, options);
}
