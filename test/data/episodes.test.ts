import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/select';
import { disposeBatch, EpisodeSampler, type EpisodeArrays } from '../../src/data/episodes/sampler';
import { heldoutIdentities, splitVideos } from '../../src/data/episodes/split';
import { encodeJpeg } from '../../src/data/image';
import { flipPoints } from '../../src/data/landmarks/flip';
import { rasteriseLandmarks } from '../../src/data/landmarks/rasterise';
import { STORE_FORMAT, type StoreSettings } from '../../src/data/store/schema';
import { DatasetStore } from '../../src/data/store/store';
import { UserError } from '../../src/errors';
import { meanFacePoints } from '../helpers/meanFace';

const SIZE = 32;
const SETTINGS: StoreSettings = {
  format: STORE_FORMAT,
  producer: 'synth',
  size: SIZE,
  framesPerVideo: 8,
  jpegQuality: 100,
  crop: { scale: 1.8, offsetY: -0.1 },
};

/** Video v, frame j: red = 20 v, green = 20 j, blue a left-to-right ramp (to see flips). */
function pixelsOf(v: number, j: number): Uint8Array {
  const rgb = new Uint8Array(SIZE * SIZE * 3);
  for (let y = 0; y < SIZE; y++)
    for (let x = 0; x < SIZE; x++) rgb.set([20 * v, 20 * j, x * 8], (y * SIZE + x) * 3);
  return rgb;
}

/** Points that differ by frame: the mean face shifted j/2 px right. */
function pointsOf(j: number): Float32Array {
  return meanFacePoints(SIZE).map((value, i) => (i % 2 === 0 ? value + j / 2 : value));
}

/** 6 videos of 3 identities; video 5 has only 3 frames (too few for K = 4). */
const VIDEOS = [
  { key: 'a/v0', identity: 'a', frames: 8 },
  { key: 'a/v1', identity: 'a', frames: 6 },
  { key: 'b/v2', identity: 'b', frames: 8 },
  { key: 'b/v3', identity: 'b', frames: 5 },
  { key: 'c/v4', identity: 'c', frames: 7 },
  { key: 'c/v5', identity: 'c', frames: 3 },
];

let dir: string;
let store: DatasetStore;

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'th-episodes-'));
  const writer = await DatasetStore.create(path.join(dir, 'store'), SETTINGS);
  for (const [v, video] of VIDEOS.entries()) {
    const frames = Array.from({ length: video.frames }, (_, j) => j);
    const points = new Float32Array(frames.length * 136);
    frames.forEach((j) => points.set(pointsOf(j), j * 136));
    const jpegs = await Promise.all(
      frames.map((j) => encodeJpeg({ rgb: pixelsOf(v, j), width: SIZE, height: SIZE }, 100)),
    );
    await writer.putVideo(
      {
        key: video.key,
        source: `${video.key}.mp4`,
        identity: video.identity,
        videoId: video.key,
        frameIndices: frames.map((j) => 10 * j),
        points,
        cropBox: { left: 0, top: 0, size: SIZE },
        skippedFrames: [],
      },
      jpegs,
    );
  }
  await writer.finalise();
  await writer.close();
  store = DatasetStore.open(path.join(dir, 'store'));
});

afterAll(async () => {
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const sampler = (options: Partial<ConstructorParameters<typeof EpisodeSampler>[1]> = {}) =>
  new EpisodeSampler(store, { k: 4, batchSize: 3, seed: 7, split: 'all', ...options });

const IMAGE = SIZE * SIZE * 3;

/** Reads back video and frame from a decoded pixel (JPEG at quality 100 is within a few levels). */
function marker(pixels: Float32Array, offset: number): { video: number; frame: number } {
  return {
    video: Math.round((pixels[offset]! * 255) / 20),
    frame: Math.round((pixels[offset + 1]! * 255) / 20),
  };
}

async function batches(s: EpisodeSampler, n: number): Promise<EpisodeArrays[]> {
  const out = [];
  for (let i = 0; i < n; i++) out.push(await s.nextArrays());
  await s.close();
  return out;
}

test('episodes never mix videos; the target is apart from the K frames; shapes are right', async () => {
  const s = sampler();
  for (const batch of await batches(s, 10)) {
    expect(batch.frames).toHaveLength(3 * 4 * IMAGE);
    expect(batch.frameLandmarks).toHaveLength(3 * 4 * IMAGE);
    expect(batch.target).toHaveLength(3 * IMAGE);
    expect(batch.targetLandmarks).toHaveLength(3 * IMAGE);
    batch.plans.forEach((plan, b) => {
      expect(batch.videoIndex[b]).toBe(plan.videoIndex);
      expect(store.index().videos[plan.videoIndex]).toBe(plan.key);
      const seen = [0, 1, 2, 3].map((slot) => marker(batch.frames, (b * 4 + slot) * IMAGE));
      const target = marker(batch.target, b * IMAGE);
      for (const m of [...seen, target]) expect(m.video).toBe(plan.videoIndex);
      expect(seen.map((m) => m.frame)).toEqual(plan.frames.slice(0, 4));
      expect(target.frame).toBe(plan.frames[4]);
      expect(new Set(plan.frames).size).toBe(5);
    });
  }
});

test('landmark images are the stored points drawn; a flip mirrors pixels and points together', async () => {
  const s = sampler({ flip: true, seed: 3 });
  let flips = 0;
  for (const batch of await batches(s, 6)) {
    batch.plans.forEach((plan, b) => {
      if (plan.flipped) flips++;
      const j = plan.frames[4]!;
      const points = plan.flipped ? flipPoints(pointsOf(j), SIZE) : pointsOf(j);
      const want = rasteriseLandmarks(points, { size: SIZE });
      const got = batch.targetLandmarks.subarray(b * IMAGE, (b + 1) * IMAGE);
      expect(Array.from(got)).toEqual(Array.from(want));
      // The blue ramp runs right to left after a flip.
      const blueLeft = batch.target[b * IMAGE + 2]!;
      const blueRight = batch.target[b * IMAGE + (SIZE - 1) * 3 + 2]!;
      expect(blueLeft < blueRight).toBe(!plan.flipped);
    });
  }
  expect(flips).toBeGreaterThan(0);
  expect(flips).toBeLessThan(18);
});

test('the same seed gives the same batches, whatever the prefetch depth or thread; another seed differs', async () => {
  const a = await batches(sampler({ seed: 11, prefetch: 0, worker: false }), 4);
  const b = await batches(sampler({ seed: 11, prefetch: 3 }), 4);
  const c = await batches(sampler({ seed: 12 }), 4);
  for (let i = 0; i < 4; i++) {
    expect(b[i]!.plans).toEqual(a[i]!.plans);
    expect(Buffer.from(b[i]!.frames.buffer)).toEqual(Buffer.from(a[i]!.frames.buffer));
  }
  expect(c.map((x) => x.plans)).not.toEqual(a.map((x) => x.plans));
});

test('videos with fewer than K + 1 frames are never drawn', async () => {
  const s = sampler({ k: 4 });
  expect(s.videos).not.toContain(5);
  for (const batch of await batches(s, 10)) expect(Array.from(batch.videoIndex)).not.toContain(5);
  expect(() => sampler({ k: 8 })).toThrow(UserError);
  expect(() => sampler({ k: 8 })).toThrow(
    /no video in the all split has 9 frames \(K = 8; 6 videos in the split\)/,
  );
});

test('held-out frames are never trained on and are the targets of held-out episodes', async () => {
  const train = await batches(sampler({ heldoutFrames: 2, seed: 4 }), 8);
  const held = await batches(sampler({ heldoutFrames: 2, frames: 'heldout', seed: 4 }), 8);
  for (const b of train)
    for (const plan of b.plans) {
      const usable = store.index().frameCounts[plan.videoIndex]! - 2;
      expect(Math.max(...plan.frames)).toBeLessThan(usable);
    }
  for (const b of held)
    for (const plan of b.plans) {
      const usable = store.index().frameCounts[plan.videoIndex]! - 2;
      expect(Math.max(...plan.frames.slice(0, 4))).toBeLessThan(usable);
      expect(plan.frames[4]).toBeGreaterThanOrEqual(usable);
    }
});

test('skip(n) continues the exact sequence of an unskipped sampler', async () => {
  const straight = await batches(sampler({ seed: 21, worker: false }), 5);
  const resumed = sampler({ seed: 21, worker: false });
  resumed.skip(3);
  const rest = await batches(resumed, 2);
  expect(rest.map((b) => b.plans)).toEqual(straight.slice(3).map((b) => b.plans));
});

test('train and held-out splits are disjoint by identity and cover the store', () => {
  const index = store.index();
  const options = { heldoutFraction: 0.3, splitSeed: 0 };
  const heldout = heldoutIdentities(index.identities, options);
  expect(heldout.size).toBe(1);
  const train = splitVideos(index, 'train', options);
  const held = splitVideos(index, 'heldout', options);
  expect([...train, ...held].sort()).toEqual([0, 1, 2, 3, 4, 5]);
  const identityOf = (i: number) => index.identities[index.identityOf[i]!];
  const trainIds = new Set(train.map(identityOf));
  for (const i of held) expect(trainIds.has(identityOf(i))).toBe(false);
  // The split depends on splitSeed only, never on the training seed.
  const trainOf = (seed: number) => sampler({ split: 'train', heldoutFraction: 0.3, seed }).videos;
  expect(trainOf(1)).toEqual(trainOf(2));
});

test('tensors have the right shapes and the tensor count stays flat across steps', async () => {
  const s = sampler({ batchSize: 2 });
  const counts: number[] = [];
  for (let step = 0; step < 5; step++) {
    const batch = await s.next();
    expect(batch.frames.shape).toEqual([2, 4, SIZE, SIZE, 3]);
    expect(batch.frameLandmarks.shape).toEqual([2, 4, SIZE, SIZE, 3]);
    expect(batch.target.shape).toEqual([2, SIZE, SIZE, 3]);
    expect(batch.targetLandmarks.shape).toEqual([2, SIZE, SIZE, 3]);
    expect(batch.videoIndex.dtype).toBe('int32');
    disposeBatch(batch);
    counts.push(tf.memory().numTensors);
  }
  await s.close();
  expect(new Set(counts).size).toBe(1);
});

test('a store that was never finalised is refused with a hint', async () => {
  const unfinished = await DatasetStore.create(path.join(dir, 'unfinished'), SETTINGS);
  await unfinished.close();
  const reader = DatasetStore.open(path.join(dir, 'unfinished'));
  try {
    expect(() => new EpisodeSampler(reader, { k: 1, batchSize: 1, seed: 0 })).toThrow(
      /not finalised.*run synth again/,
    );
  } finally {
    await reader.close();
  }
});
