import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../../errors';
import { printable } from '../../oneLine';
import { encodeJpeg, photosIn, readImage } from '../image';
import { squareAround } from '../landmarks/landmarker';
import { POINT_COUNT } from '../landmarks/points';
import { shardOf } from '../sampling';
import { DatasetStore } from '../store/store';
import type { StoreRunOptions } from '../storeRun';
import { synthesiseClip } from './clip';
import { shrinkForCrop } from './shrinkForCrop';
import { synthFaces, synthIdentity } from './synthFaces';

/** The portraits shipped in @vladmandic/face-api's demo folder: the embedded default faces. */
export function defaultPhotos(): string[] {
  const demo = path.join(
    path.dirname(require.resolve('@vladmandic/face-api/package.json')),
    'demo',
  );
  // Only the sample portraits: the folder also holds screenshots of the demo page.
  return photosIn(demo).filter((file) => /^sample\d+\.jpg$/.test(path.basename(file)));
}

/** Photos from the arguments: files as given, folders expanded (not recursively). */
export function resolvePhotos(inputs: readonly string[]): string[] {
  const photos = inputs.flatMap((input) => {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(input);
    } catch {
      throw new UserError(`${printable(input)}: no such file or directory`);
    }
    return stat.isDirectory() ? photosIn(input) : [input];
  });
  if (photos.length === 0)
    throw new UserError(`${inputs.map(printable).join(', ')}: no photos found`);
  return photos;
}

/** A synth run: which photos, how many clips of each face, where the store goes. */
export interface SynthRunOptions extends StoreRunOptions {
  photos: string[];
  /** Clips per identity (one identity per face found). */
  clipsPerIdentity: number;
  /** Faces smaller than this (detector box side, px) are left out: too blurry to animate. */
  minFaceSize: number;
  seed: number;
}

export interface SynthSummary {
  identities: number;
  clips: number;
  alreadyDone: number;
  framesStored: number;
  /** Photos or faces left out, with why. */
  skipped: string[];
  seconds: number;
  interrupted: boolean;
}

/**
 * A synthetic talking-head corpus: every face found in the photos becomes one identity with
 * `clipsPerIdentity` clips of smooth random head motion and mouth and eye movement, written in
 * the same store format as preprocess. Each clip's seed comes from the run seed and the clip's
 * key, so a clip is the same whatever else is in the run; resuming skips finished clips.
 */
export async function runSynth(options: SynthRunOptions): Promise<SynthSummary> {
  const started = Date.now();
  const { settings, log } = options;
  const store = await DatasetStore.create(options.out, settings);
  const summary: SynthSummary = {
    identities: 0,
    clips: 0,
    alreadyDone: 0,
    framesStored: 0,
    skipped: [],
    seconds: 0,
    interrupted: false,
  };
  try {
    const landmarker = await options.loadLandmarker();
    const progress = options.progress?.(options.photos.length);
    for (const file of options.photos) {
      if (options.signal?.aborted) {
        summary.interrupted = true;
        break;
      }
      const image = await readImage(file);
      const detected = await landmarker.detectFaces(image);
      const faces = synthFaces(detected, options.minFaceSize);
      for (const face of detected)
        if (!faces.includes(face))
          summary.skipped.push(
            `${file}: a face of ${Math.round(face.width)} px, below --min-face-size`,
          );
      if (detected.length === 0) summary.skipped.push(`${file}: no face found`);
      for (const [f, face] of faces.entries()) {
        const identity = synthIdentity(file, f);
        summary.identities++;
        const found = await landmarker.landmarksIn(image, squareAround(face));
        // The warp resamples bilinearly, without antialiasing: a large face is shrunk first so
        // that its crop is about the output size.
        const { photo, points } = await shrinkForCrop(image, found, settings.size, settings.crop);
        log.debug(
          `${identity}: a face of ${Math.round(face.width)} px in ${photo.width}x${photo.height}`,
        );
        for (let c = 0; c < options.clipsPerIdentity; c++) {
          const key = `${identity}/clip${c}`;
          if (store.isDone(key)) {
            summary.alreadyDone++;
            continue;
          }
          const clip = synthesiseClip(photo, points, {
            frames: settings.framesPerVideo,
            size: settings.size,
            seed: (options.seed * 0x9e3779b1 + shardOf(key, 0x7fffffff)) >>> 0,
            crop: settings.crop,
          });
          const jpegs = await Promise.all(
            clip.frames.map((rgb) =>
              encodeJpeg(
                { rgb, width: settings.size, height: settings.size },
                settings.jpegQuality,
              ),
            ),
          );
          const flat = new Float32Array(clip.points.length * POINT_COUNT * 2);
          clip.points.forEach((p, i) => flat.set(p, i * POINT_COUNT * 2));
          await store.putVideo(
            {
              key,
              source: file,
              identity,
              videoId: `clip${c}`,
              frameIndices: clip.frames.map((_, i) => i),
              points: flat,
              cropBox: clip.cropBox,
              skippedFrames: [],
            },
            jpegs,
          );
          summary.clips++;
          summary.framesStored += jpegs.length;
        }
      }
      progress?.increment(path.basename(file));
    }
    progress?.stop();
    await store.finalise();
  } finally {
    await store.close();
  }
  summary.seconds = (Date.now() - started) / 1000;
  return summary;
}
