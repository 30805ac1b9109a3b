import * as fs from 'node:fs';
import * as path from 'node:path';
import { readImage } from '../data/image';
import type { FaceLandmarker } from '../data/landmarks/landmarker';
import { DEFAULT_MIN_FACE_SIZE, synthFaces, synthIdentity } from '../data/synth/synthFaces';
import { writeSynthVideo } from '../data/synth/synthVideo';
import { UserError } from '../errors';
import { printable } from '../oneLine';
import type { DemoCast } from './demoCast';
import type { DemoSettings } from './demoStages';

/** Seeds apart from synth's clip seeds: new motion, not a copy of a corpus clip. */
const PERSON_SEED = 101;
const DRIVER_SEED = 202;

/** The photo face that synth named `identity`, found again the way synth found it. */
async function faceOf(landmarker: FaceLandmarker, identity: string, photo: string) {
  const image = await readImage(photo);
  const faces = synthFaces(await landmarker.detectFaces(image), DEFAULT_MIN_FACE_SIZE);
  const face = faces.find((_, f) => synthIdentity(photo, f) === identity);
  if (!face) throw new UserError(`${printable(photo)}: the face of ${identity} is not found again`);
  return { image, face };
}

/**
 * The demo's two input videos, 256 px synthetic talking heads made like synth's clips: the
 * held-out person's (what `finetune` takes its shots from) and the driver's (whose motion
 * `animate` transfers).
 */
export async function writeDemoVideos(
  cast: DemoCast,
  files: { person: string; driver: string },
  landmarker: FaceLandmarker,
  settings: Pick<DemoSettings, 'videoSize' | 'personFrames' | 'driverFrames'>,
  progress?: { increment(label?: string): void; stop(): void },
): Promise<void> {
  const jobs = [
    { who: cast.person, file: files.person, frames: settings.personFrames, seed: PERSON_SEED },
    { who: cast.driver, file: files.driver, frames: settings.driverFrames, seed: DRIVER_SEED },
  ];
  for (const job of jobs) {
    fs.mkdirSync(path.dirname(job.file), { recursive: true });
    const { image, face } = await faceOf(landmarker, job.who.identity, job.who.photo);
    await writeSynthVideo(job.file, image, face, landmarker, {
      frames: job.frames,
      size: settings.videoSize,
      seed: job.seed,
    });
    progress?.increment(path.basename(job.file));
  }
  progress?.stop();
}
