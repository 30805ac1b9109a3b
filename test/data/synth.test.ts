import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCli } from '../../src/cli/main';
import { EpisodeSampler } from '../../src/data/episodes/sampler';
import { decodeJpeg } from '../../src/data/image';
import { clipLandmarks } from '../../src/data/landmarks/clipLandmarks';
import { FaceLandmarker } from '../../src/data/landmarks/landmarker';
import { boundingBox, type Points } from '../../src/data/landmarks/points';
import { rasteriseLandmarks } from '../../src/data/landmarks/rasterise';
import { DatasetStore } from '../../src/data/store/store';
import { capture, lines } from '../cli/helpers';
import { GRACE_HOPPER } from '../helpers/videos';

const SIZE = 128;
const FRAMES = 24;
let dir: string;
let out: string;

/** Two clips of the Grace Hopper portrait into `out`. */
const synthGraceHopper = () =>
  capture((io) =>
    runCli(
      ['--backend', 'wasm', '--seed', '5', 'synth', GRACE_HOPPER, '--out', out].concat([
        '--frames',
        String(FRAMES),
        '--clips',
        '2',
        '--size',
        String(SIZE),
      ]),
      io,
    ),
  );

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'th-synth-'));
  out = path.join(dir, 'store');
  const result = await synthGraceHopper();
  expect(result.code).toBe(0);
  expect(lines(result.stdout)[0]).toMatch(
    /^finished: 2 clips of 1 identities stored, 0 already done; 48 frames/,
  );
}, 120_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const meanDistance = (a: Points, b: Points) => {
  let sum = 0;
  for (let i = 0; i < a.length; i += 2) sum += Math.hypot(a[i]! - b[i]!, a[i + 1]! - b[i + 1]!);
  return sum / (a.length / 2);
};

/** Share of the ink of `a` (coverage > 0.5 in any channel) that `b` also has within 1 px. */
function inkOverlap(a: Float32Array, b: Float32Array, size: number): number {
  const ink = (img: Float32Array, p: number) =>
    Math.max(img[3 * p]!, img[3 * p + 1]!, img[3 * p + 2]!) > 0.5;
  let total = 0;
  let shared = 0;
  for (let y = 1; y < size - 1; y++)
    for (let x = 1; x < size - 1; x++) {
      if (!ink(a, y * size + x)) continue;
      total++;
      let near = false;
      for (let dy = -1; dy <= 1 && !near; dy++)
        for (let dx = -1; dx <= 1 && !near; dx++) near = ink(b, (y + dy) * size + x + dx);
      if (near) shared++;
    }
  return shared / total;
}

test('the sampler draws exactly the stored points', async () => {
  const store = DatasetStore.open(out);
  const sampler = new EpisodeSampler(store, {
    k: FRAMES - 1,
    batchSize: 1,
    seed: 0,
    split: 'all',
    worker: false,
  });
  try {
    const batch = await sampler.nextArrays();
    const plan = batch.plans[0]!;
    const record = store.getVideo(plan.key)!;
    const image = SIZE * SIZE * 3;
    plan.frames.slice(0, FRAMES - 1).forEach((j, slot) => {
      const want = rasteriseLandmarks(record.points.subarray(j * 136, (j + 1) * 136), {
        size: SIZE,
      });
      expect(Array.from(batch.frameLandmarks.subarray(slot * image, (slot + 1) * image))).toEqual(
        Array.from(want),
      );
    });
  } finally {
    await sampler.close();
    await store.close();
  }
});

test('landmarks found again on the stored frames (preprocess-style) agree with the stored ones', async () => {
  const landmarker = await FaceLandmarker.load();
  const store = DatasetStore.open(out);
  try {
    for (const key of store.index().videos) {
      const record = store.getVideo(key)!;
      const frames = await Promise.all(
        record.frameIndices.map((_, j) => decodeJpeg(store.readFrame(key, j))),
      );
      const found = await clipLandmarks(frames, landmarker);
      expect(found.skipped).toEqual([]);
      const stored = (j: number) => record.points.subarray(j * 136, (j + 1) * 136);
      const face = boundingBox(stored(0)).height;
      /** Each point's displacement since frame 0. */
      const motion = (points: (j: number) => Points, j: number) =>
        points(j).map((v, i) => v - points(0)[i]!);
      let distance = 0;
      let moved = 0;
      let motionError = 0;
      for (let j = 0; j < FRAMES; j++) {
        const detected = (i: number) => found.points[i]!;
        // The detector's points sit on the stored ones (a few % of the face)...
        distance += meanDistance(detected(j), stored(j)) / FRAMES;
        // ...and move as they move: the stored points follow the pixels' motion.
        const want = motion(stored, j);
        moved += meanDistance(want, new Float32Array(want.length)) / FRAMES;
        motionError += meanDistance(motion(detected, j), want) / FRAMES;
        const drawnStored = rasteriseLandmarks(stored(j), { size: SIZE });
        const drawnFound = rasteriseLandmarks(detected(j), { size: SIZE });
        expect(inkOverlap(drawnStored, drawnFound, SIZE)).toBeGreaterThan(0.6);
      }
      expect(distance / face).toBeLessThan(0.05);
      expect(moved).toBeGreaterThan(1);
      expect(motionError).toBeLessThan(0.4 * moved);
    }
  } finally {
    await store.close();
  }
}, 60_000);

test('a rerun resumes: finished clips are not made again', async () => {
  const result = await synthGraceHopper();
  expect(result.code).toBe(0);
  expect(lines(result.stdout)[0]).toMatch(
    /^finished: 0 clips of 1 identities stored, 2 already done/,
  );
}, 60_000);

test('by default every face in the bundled face-api sample photos becomes an identity', async () => {
  const store = path.join(dir, 'default');
  const result = await capture((io) =>
    runCli(
      [
        '--backend',
        'wasm',
        'synth',
        '--out',
        store,
        '--frames',
        '2',
        '--clips',
        '1',
        '--size',
        '32',
      ],
      io,
    ),
  );
  expect(result.code).toBe(0);
  const reader = DatasetStore.open(store);
  try {
    const { identities } = reader.index();
    // Six group photos of several people each.
    expect(identities.length).toBeGreaterThan(12);
    expect(new Set(identities.map((id) => id.replace(/-face\d+$/, '')))).toEqual(
      new Set(['sample1', 'sample2', 'sample3', 'sample4', 'sample5', 'sample6']),
    );
  } finally {
    await reader.close();
  }
}, 120_000);

test('a missing photo is a one-line error', async () => {
  const result = await capture((io) =>
    runCli(['synth', path.join(dir, 'nope.jpg'), '--out', path.join(dir, 'x')], io),
  );
  expect(result.code).toBe(2);
  expect(result.stderr).toMatch(/^talking-heads: .*nope\.jpg: no such file or directory\n$/);
});
