import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EpisodeSampler } from '../../src/data/episodes/sampler';
import { decodeJpeg, resizeRgb } from '../../src/data/image';
import { POINT_COUNT } from '../../src/data/landmarks/points';
import { rasteriseLandmarks } from '../../src/data/landmarks/rasterise';
import { pointsAt } from '../../src/data/store/framesAtSize';
import { DatasetStore } from '../../src/data/store/store';
import { UserError } from '../../src/errors';
import { makeTestStore } from '../helpers/testStore';

// One store serves every model size up to its own: frames resized as they are sampled,
// landmarks scaled with them; a model larger than the store's frames is refused.

let dir: string;
let storePath: string;
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'th-frames-at-size-'));
  storePath = await makeTestStore(dir, { size: 64, videos: 4, frames: 6 });
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('landmarks scale with the frame: its edges onto the smaller frame edges', () => {
  const points = Float32Array.from({ length: POINT_COUNT * 2 }, (_, i) => (i % 2 ? 64 : 0));
  points[0] = 31.5; // a pixel centre of the 64 px frame
  const scaled = pointsAt(points, 64, 32);
  expect(scaled[0]).toBe(15.75);
  expect(scaled[1]).toBe(32);
  expect(pointsAt(points, 64, 64)).toBe(points);
});

test.each([64, 32])(
  'a 64 px store sampled for a %i px model gives its frames and landmark images at that size',
  async (size) => {
    const store = DatasetStore.open(storePath);
    const sampler = new EpisodeSampler(store, {
      k: 2,
      batchSize: 2,
      seed: 3,
      split: 'all',
      worker: false,
      prefetch: 0,
      imageSize: size,
    });
    try {
      expect(sampler.size).toBe(size);
      const batch = await sampler.nextArrays();
      const image = size * size * 3;
      expect(batch.target).toHaveLength(2 * image);
      expect(batch.frames).toHaveLength(2 * 2 * image);
      for (let b = 0; b < 2; b++) {
        const plan = batch.plans[b]!;
        const j = plan.frames[2]!;
        // The target, as the stored JPEG resized once to the model's size.
        const stored = await decodeJpeg(store.readFrame(plan.key, j));
        const want = size === 64 ? stored : await resizeRgb(stored, size);
        const got = batch.target.subarray(b * image, (b + 1) * image);
        let worst = 0;
        for (let i = 0; i < image; i++)
          worst = Math.max(worst, Math.abs(got[i]! * 255 - want.rgb[i]!));
        expect(worst).toBeLessThan(1e-3);
        // Its landmark image, drawn from the stored points scaled to the model's size.
        const points = store.getVideo(plan.key)!.points.subarray(j * 136, (j + 1) * 136);
        const drawn = new Float32Array(image);
        rasteriseLandmarks(pointsAt(points, 64, size), { size, background: 'black' }, drawn, 0);
        expect(batch.targetLandmarks.subarray(b * image, (b + 1) * image)).toEqual(drawn);
      }
    } finally {
      await sampler.close();
      await store.close();
    }
  },
);

test('a model larger than the store is refused in one line naming the store', async () => {
  const store = DatasetStore.open(storePath);
  try {
    const make = () =>
      new EpisodeSampler(store, { k: 2, batchSize: 1, seed: 0, split: 'all', imageSize: 128 });
    expect(make).toThrow(UserError);
    expect(make).toThrow(/store-64-4x6: frames are 64 px, smaller than the model \(128 px\)/);
  } finally {
    await store.close();
  }
});
