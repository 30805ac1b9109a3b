import * as fs from 'node:fs';
import * as path from 'node:path';
import { isUserError, UserError } from '../errors';
import type { Logger } from '../log';
import { printable } from '../oneLine';
import { IMAGE_EXTENSIONS, photosIn, readImage, type RgbImage } from './image';
import type { CropGeometry } from './landmarks/crop';
import type { FaceLandmarker } from './landmarks/landmarker';
import type { Points } from './landmarks/points';
import { buildFaceClip } from './preprocess/faceClip';
import { readSampledFrames } from './preprocess/processVideo';
import { VIDEO_EXTENSIONS } from './preprocess/videoFiles';

export interface PersonShotOptions {
  /** How many shots (K) to take. */
  shots: number;
  size: number;
  /** Must be the framing the model was trained with (the store's settings). */
  crop: CropGeometry;
  landmarker: FaceLandmarker;
  log?: Logger;
}

/** A new person's K shots, framed exactly as training frames are, with their points. */
export interface PersonShots {
  frames: RgbImage[];
  points: Points[];
  /** Where each shot came from: a photo's path, or `video.mp4#frame`. */
  sources: string[];
}

const hasExtension = (file: string, extensions: string[]) =>
  extensions.includes(path.extname(file).toLowerCase());

/**
 * Loads a person for fine-tuning or animation from a folder of photos, one photo, or a video:
 * detect, landmark and crop with the same rule as preprocess. In a folder, photos without a face
 * are reported and skipped; fewer usable photos than `shots` gives a warning, none an error.
 */
export async function loadPersonShots(
  input: string,
  options: PersonShotOptions,
): Promise<PersonShots> {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(input);
  } catch {
    throw new UserError(`${printable(input)}: no such file or directory`);
  }
  const clipOptions = { size: options.size, crop: options.crop, minFrames: 1 };
  if (stat.isFile() && hasExtension(input, VIDEO_EXTENSIONS)) {
    const { frames } = await readSampledFrames(input, options.shots);
    const clip = await buildFaceClip(input, frames, options.landmarker, clipOptions);
    for (const s of clip.skippedFrames)
      options.log?.warn(`${input}: frame ${s.index} skipped: ${s.reason}`);
    return {
      frames: clip.frames,
      points: clip.points,
      sources: clip.frameIndices.map((i) => `${input}#${i}`),
    };
  }
  const photos = stat.isDirectory() ? photosIn(input) : [input];
  if (photos.length === 0)
    throw new UserError(
      `${printable(input)}: no photos (${IMAGE_EXTENSIONS.join(', ')}) or videos found`,
    );
  const shots: PersonShots = { frames: [], points: [], sources: [] };
  const rejected: string[] = [];
  for (const photo of photos) {
    if (shots.frames.length === options.shots) break;
    try {
      const image = await readImage(photo);
      const clip = await buildFaceClip(
        photo,
        [{ index: 0, image }],
        options.landmarker,
        clipOptions,
      );
      shots.frames.push(clip.frames[0]!);
      shots.points.push(clip.points[0]!);
      shots.sources.push(photo);
    } catch (err) {
      if (!isUserError(err) || photos.length === 1) throw err;
      rejected.push(err.message);
      options.log?.warn(`skipped: ${err.message}`);
    }
  }
  if (shots.frames.length === 0)
    throw new UserError(
      `${printable(input)}: no usable photo (${rejected.length} tried; first: ${rejected[0]})`,
    );
  if (shots.frames.length < options.shots)
    options.log?.warn(
      `${input}: ${shots.frames.length} usable photos, fewer than the ${options.shots} shots asked for; using them all`,
    );
  return shots;
}
