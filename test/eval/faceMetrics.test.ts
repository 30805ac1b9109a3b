import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/select';
import { readImage } from '../../src/data/image';
import { cropBoxFromPoints, cropImage, pointsInCrop } from '../../src/data/landmarks/crop';
import { FaceLandmarker, squareAround } from '../../src/data/landmarks/landmarker';
import type { Points } from '../../src/data/landmarks/points';
import { faceSquare } from '../../src/eval/faceSquare';
import { pixelTensor } from '../../src/data/frameTensors';
import { IdentitySimilarity } from '../../src/eval/identitySimilarity';
import {
  interOcularDistance,
  LandmarkError,
  normalisedMeanError,
} from '../../src/eval/landmarkError';
import { ASTRONAUT, GRACE_HOPPER } from '../helpers/videos';

const SIZE = 128;

let landmarker: FaceLandmarker;
let identity: IdentitySimilarity;
beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
  landmarker = await FaceLandmarker.load();
  identity = await IdentitySimilarity.load();
});
afterAll(() => identity.dispose());

/**
 * The face of a fixture photo framed as training frames are (crop from its landmarks), with the
 * crop moved by (dx, dy) crop pixels: the content then moves by (-dx, -dy).
 */
async function faceCrop(
  file: string,
  dx = 0,
  dy = 0,
): Promise<{ rgb: Uint8Array; points: Points }> {
  const image = await readImage(file);
  const [face] = await landmarker.detectFaces(image);
  const found = await landmarker.landmarksIn(image, squareAround(face!));
  const box = cropBoxFromPoints(found);
  const scale = box.size / SIZE;
  const moved = {
    ...box,
    left: box.left + Math.round(dx * scale),
    top: box.top + Math.round(dy * scale),
  };
  return {
    rgb: await cropImage(image.rgb, image.width, image.height, moved, SIZE),
    points: pointsInCrop(found, moved, SIZE),
  };
}

/** CSIM as evaluate reads it: both images in the face square of the first one's points. */
const csim = (a: { rgb: Uint8Array; points: Points }, b: { rgb: Uint8Array }) =>
  tf.tidy(
    () =>
      identity
        .similarity(pixelTensor([a.rgb], SIZE), pixelTensor([b.rgb], SIZE), [faceSquare(a.points)])
        .dataSync()[0]!,
  );

test('CSIM: about 1 for a face with itself, above 0.9 for a shifted crop, lower between two people', async () => {
  const hopper = await faceCrop(GRACE_HOPPER);
  const hopperShifted = await faceCrop(GRACE_HOPPER, 6, 4);
  const astronaut = await faceCrop(ASTRONAUT);
  const self = csim(hopper, hopper);
  const shifted = csim(hopper, hopperShifted);
  const others = csim(hopper, astronaut);
  console.log(
    `CSIM self ${self.toFixed(5)}, shifted ${shifted.toFixed(4)}, two people ${others.toFixed(4)}`,
  );
  expect(self).toBeGreaterThan(0.9999);
  expect(shifted).toBeGreaterThan(0.9);
  expect(others).toBeLessThan(shifted - 0.05);
  const reverse = csim(astronaut, hopper);
  console.log(`CSIM astronaut vs Hopper in the astronaut's square ${reverse.toFixed(4)}`);
  expect(reverse).toBeLessThan(shifted - 0.05);
});

test('CSIM leaves no tensors behind', async () => {
  const face = await faceCrop(ASTRONAUT);
  csim(face, face);
  const before = tf.memory().numTensors;
  csim(face, face);
  expect(tf.memory().numTensors).toBe(before);
});

test('NME by hand: a uniform shift of d px is d / inter-ocular distance', () => {
  const reference = new Float32Array(136);
  reference[72] = 10; // point 36
  reference[90] = 50; // point 45: inter-ocular distance 40
  expect(interOcularDistance(reference)).toBe(40);
  const moved = reference.map((v, i) => (i % 2 === 1 ? v + 3 : v));
  expect(normalisedMeanError(moved, reference)).toBeCloseTo(3 / 40, 6);
  expect(normalisedMeanError(reference, reference)).toBe(0);
});

test('landmark error: 0 for identical images, growing with a known shift', async () => {
  const errors = new LandmarkError(landmarker);
  const driver = await faceCrop(GRACE_HOPPER);
  const asImage = (rgb: Uint8Array) => ({ rgb, width: SIZE, height: SIZE });
  const reference = await errors.reference(asImage(driver.rgb), driver.points);
  expect(await errors.measure(asImage(driver.rgb), reference)).toBe(0);
  const iod = interOcularDistance(reference.points);
  const measured: number[] = [];
  for (const shift of [2, 4, 8]) {
    const moved = await faceCrop(GRACE_HOPPER, -shift, 0); // content moves right by `shift`
    measured.push(await errors.measure(asImage(moved.rgb), reference));
  }
  console.log(
    `NME at 2, 4, 8 px: ${measured.map((v) => v.toFixed(4)).join(', ')} (iod ${iod.toFixed(1)} px)`,
  );
  expect(measured[0]).toBeGreaterThan(0);
  expect(measured[1]).toBeGreaterThan(measured[0]!);
  expect(measured[2]).toBeGreaterThan(measured[1]!);
  // The net follows the face: the error is close to the shift over the inter-ocular distance.
  [2, 4, 8].forEach((shift, i) => {
    expect(measured[i]).toBeGreaterThan((0.5 * shift) / iod);
    expect(measured[i]).toBeLessThan((1.5 * shift) / iod);
  });
});
