import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { open } from 'lmdb';
import { UserError } from '../../src/errors';
import { mergeStores } from '../../src/data/store/merge';
import { STORE_FORMAT, type StoreSettings, type VideoRecord } from '../../src/data/store/schema';
import { DatasetStore } from '../../src/data/store/store';

const SETTINGS: StoreSettings = {
  format: STORE_FORMAT,
  producer: 'preprocess',
  size: 64,
  framesPerVideo: 3,
  jpegQuality: 90,
  crop: { scale: 1.8, offsetY: -0.1 },
};

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'th-store-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

let counter = 0;
/** A fresh path for a store (not created). */
function storePath(name = 'store'): string {
  return path.join(dir, `${name}-${counter++}`);
}

/**
 * Points that a float64 round trip or a sloppy copy would change: -0, a subnormal, values with no
 * exact decimal form, and a NaN with a payload.
 */
function trickyPoints(frames: number, seed: number): Float32Array {
  const points = new Float32Array(frames * 136);
  for (let i = 0; i < points.length; i++) points[i] = Math.fround(Math.sin(seed * 1000 + i) * 64);
  points[0] = -0;
  points[1] = 1e-45;
  points[2] = 0.1;
  new Uint32Array(points.buffer)[3] = 0x7fc01234;
  return points;
}

function video(key: string, identity: string, frames: number, seed = 1): VideoRecord {
  return {
    key,
    source: `/data/vox/${key}`,
    identity,
    videoId: key.split('/')[1] ?? key,
    frameIndices: Array.from({ length: frames }, (_, j) => j * 10 + seed),
    points: trickyPoints(frames, seed),
    cropBox: { left: 10 + seed, top: -3, size: 200 },
    skippedFrames: seed % 2 ? [{ index: 5, reason: 'no face' }] : [],
  };
}

/** Stand-in JPEG bytes (the store never decodes them), different per video and frame. */
function jpegs(key: string, frames: number, seed = 1): Uint8Array[] {
  return Array.from({ length: frames }, (_, j) =>
    Uint8Array.from([0xff, 0xd8, ...Buffer.from(key), j, seed, 0xff, 0xd9]),
  );
}

const bits = (points: Float32Array) => Array.from(new Uint32Array(points.slice().buffer));

async function withStore<T>(
  where: string,
  settings: StoreSettings,
  fn: (store: DatasetStore) => Promise<T>,
): Promise<T> {
  const store = await DatasetStore.create(where, settings);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** The UserError message of `fn`, failing the test when it does not throw one. */
async function userError(fn: () => unknown): Promise<string> {
  try {
    await fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    return (err as Error).message;
  }
  throw new Error('expected a UserError');
}

describe('DatasetStore', () => {
  test('round trip: records, bit-exact points and frames, across a reopen', async () => {
    const where = storePath();
    const a = video('id1/vidA/00001.mp4', 'id1', 3, 1);
    const b = video('id0/vidB/00002.mp4', 'id0', 2, 2);
    await withStore(where, SETTINGS, async (store) => {
      expect(store.settings).toEqual(SETTINGS);
      await store.putVideo(a, jpegs(a.key, 3, 1));
      await store.putVideo(b, jpegs(b.key, 2, 2));
      expect(store.hasVideo(a.key)).toBe(true);
      expect(store.isDone(b.key)).toBe(true);
      expect(store.isDone('id9/none.mp4')).toBe(false);
    });

    const store = DatasetStore.open(where, { readOnly: true });
    try {
      expect(store.settings).toEqual(SETTINGS);
      expect(store.videoKeys()).toEqual([b.key, a.key]);
      const got = store.getVideo(a.key)!;
      const { points, ...rest } = got;
      const { points: expected, ...expectedRest } = a;
      expect(rest).toEqual(expectedRest);
      expect(points).toBeInstanceOf(Float32Array);
      expect(bits(points)).toEqual(bits(expected));
      expect(Object.is(points[0], -0)).toBe(true);
      for (let j = 0; j < 3; j++) {
        expect(Buffer.from(store.readFrame(a.key, j))).toEqual(Buffer.from(jpegs(a.key, 3, 1)[j]!));
      }
      expect(store.getVideo('missing')).toBeUndefined();
      expect(await userError(() => store.readFrame(a.key, 3))).toContain(
        `'${a.key}' has no frame 3`,
      );
      // A reader cannot write.
      await expect(store.putVideo(a, jpegs(a.key, 3))).rejects.toThrow(/read-only/);
    } finally {
      await store.close();
    }
  });

  test('putVideo is atomic: a bad frame leaves neither record nor frames, nor harms the old ones', async () => {
    await withStore(storePath(), SETTINGS, async (store) => {
      const key = 'id1/vid/00001.mp4';
      const old = video(key, 'id1', 2, 1);
      await store.putVideo(old, jpegs(key, 2, 1));

      const fresh = video('id2/vid/00009.mp4', 'id2', 3, 3);
      const bad = jpegs(fresh.key, 3, 3);
      bad[2] = 'not bytes' as unknown as Uint8Array;
      await expect(store.putVideo(fresh, bad)).rejects.toThrow(/frame 2 is not a Uint8Array/);
      expect(store.hasVideo(fresh.key)).toBe(false);
      expect(store.getVideo(fresh.key)).toBeUndefined();
      expect(() => store.readFrame(fresh.key, 0)).toThrow(/has no frame 0/);

      // A failed rewrite of an existing video keeps the old record and frames.
      const rewrite = video(key, 'id1', 3, 5);
      const badRewrite = jpegs(key, 3, 5);
      badRewrite[1] = { not: 'bytes' } as unknown as Uint8Array;
      await expect(store.putVideo(rewrite, badRewrite)).rejects.toThrow(/frame 1/);
      expect(store.getVideo(key)!.frameIndices).toEqual(old.frameIndices);
      expect(Buffer.from(store.readFrame(key, 0))).toEqual(Buffer.from(jpegs(key, 2, 1)[0]!));
      expect(store.videoKeys()).toEqual([key]);
    });
  });

  test('a rewrite with fewer frames drops the old extra frames', async () => {
    await withStore(storePath(), SETTINGS, async (store) => {
      const key = 'id1/vid/00001.mp4';
      await store.putVideo(video(key, 'id1', 3, 1), jpegs(key, 3, 1));
      await store.putVideo(video(key, 'id1', 1, 2), jpegs(key, 1, 2));
      expect(store.getVideo(key)!.frameIndices).toHaveLength(1);
      expect(Buffer.from(store.readFrame(key, 0))).toEqual(Buffer.from(jpegs(key, 1, 2)[0]!));
      expect(() => store.readFrame(key, 1)).toThrow(/has no frame 1/);
    });
  });

  test('inconsistent writes are refused before anything is written', async () => {
    await withStore(storePath(), SETTINGS, async (store) => {
      const v = video('id1/v/1.mp4', 'id1', 2);
      await expect(store.putVideo(v, jpegs(v.key, 1))).rejects.toThrow(/1 JPEGs for 2 frame/);
      await expect(
        store.putVideo({ ...v, points: new Float32Array(136) }, jpegs(v.key, 2)),
      ).rejects.toThrow(/136 point values for 2 frames/);
      const long = video('x'.repeat(2000), 'id1', 1);
      expect(await userError(() => store.putVideo(long, jpegs('x', 1)))).toMatch(/too long/);
      expect(store.videoKeys()).toEqual([]);
    });
  });

  test('reopening with other settings is refused, naming the path and the first difference', async () => {
    const where = storePath();
    const v = video('id1/v/1.mp4', 'id1', 1);
    await withStore(where, SETTINGS, (store) => store.putVideo(v, jpegs(v.key, 1)));

    expect(await userError(() => DatasetStore.create(where, { ...SETTINGS, size: 128 }))).toBe(
      `${where}: holds a store made with size=64, not size=128; ` +
        'resume with the same settings or choose another output',
    );
    const crop = { ...SETTINGS, crop: { scale: 2, offsetY: -0.1 } };
    expect(await userError(() => DatasetStore.create(where, crop))).toContain(
      'crop.scale=1.8, not crop.scale=2',
    );
    // The same settings resume the store, with what it held.
    await withStore(where, { ...SETTINGS }, async (store) => {
      expect(store.videoKeys()).toEqual([v.key]);
    });
  });

  test('a store of another format is refused by create and open', async () => {
    const where = storePath();
    await withStore(where, SETTINGS, async () => undefined);
    const raw = open({ path: where, maxDbs: 8 });
    await raw.openDB('meta', {}).put('settings', { ...SETTINGS, format: 2 });
    await raw.close();
    const message = `${where}: a store of format 2; this version of talking-heads reads format 1`;
    expect(await userError(() => DatasetStore.create(where, SETTINGS))).toBe(message);
    expect(await userError(() => DatasetStore.open(where))).toBe(message);
  });

  test('paths that are not stores are one-line UserErrors naming the path', async () => {
    const missing = path.join(dir, 'no-such-store');
    expect(await userError(() => DatasetStore.open(missing))).toBe(`${missing}: no such store`);
    expect(fs.existsSync(missing)).toBe(false); // lmdb-js would have made the directory

    const empty = storePath('empty');
    fs.mkdirSync(empty);
    expect(await userError(() => DatasetStore.open(empty))).toBe(
      `${empty}: not a dataset store (no data.mdb in it)`,
    );

    const videos = storePath('videos');
    fs.mkdirSync(videos);
    fs.writeFileSync(path.join(videos, 'clip.mp4'), 'x');
    expect(await userError(() => DatasetStore.create(videos, SETTINGS))).toBe(
      `${videos}: not a dataset store (no data.mdb in it)`,
    );
    expect(fs.readdirSync(videos)).toEqual(['clip.mp4']);

    const file = path.join(videos, 'clip.mp4');
    expect(await userError(() => DatasetStore.open(file))).toContain('a store is a directory');

    const other = storePath('other-lmdb');
    const raw = open({ path: other });
    await raw.put('hello', 'world');
    await raw.close();
    expect(await userError(() => DatasetStore.open(other))).toBe(
      `${other}: an LMDB database that is not a dataset store`,
    );
    expect(await userError(() => DatasetStore.create(other, SETTINGS))).toBe(
      `${other}: an LMDB database that is not a dataset store`,
    );
  });

  test('finalise writes the index in key order (W columns); a later write makes it stale', async () => {
    const where = storePath();
    await withStore(where, SETTINGS, async (store) => {
      const videos = [
        video('id2/b/2.mp4', 'id2', 3, 1),
        video('id10/a/1.mp4', 'id10', 1, 2),
        video('id2/a/1.mp4', 'id2', 2, 3),
        video('id1/z/9.mp4', 'id1', 3, 4),
      ];
      for (const v of videos) await store.putVideo(v, jpegs(v.key, v.frameIndices.length));
      expect(store.isFinalised()).toBe(false);
      expect(await userError(() => store.index())).toBe(
        `${where}: the store is not finalised (its run was interrupted or is still going); ` +
          'run preprocess again to finish it',
      );

      const expected = {
        videos: ['id1/z/9.mp4', 'id10/a/1.mp4', 'id2/a/1.mp4', 'id2/b/2.mp4'],
        identities: ['id1', 'id10', 'id2'],
        identityOf: [0, 1, 2, 2],
        frameCounts: [3, 1, 2, 3],
      };
      expect(await store.finalise()).toEqual(expected);
      expect(store.isFinalised()).toBe(true);
      expect(store.index()).toEqual(expected);

      await store.putFailure({ key: 'id3/x/1.mp4', source: '/x', reason: 'no face' });
      expect(store.isFinalised()).toBe(false);
      await store.finalise();
      const v = video('id0/a/1.mp4', 'id0', 1);
      await store.putVideo(v, jpegs(v.key, 1));
      expect(store.isFinalised()).toBe(false);
      expect((await store.finalise()).videos[0]).toBe('id0/a/1.mp4');
    });
    const reader = DatasetStore.open(where);
    expect(reader.index().identities).toEqual(['id0', 'id1', 'id10', 'id2']);
    await reader.close();
  });

  test('a failure is recorded, then replaced by a later success (and the other way round)', async () => {
    await withStore(storePath(), SETTINGS, async (store) => {
      const key = 'id1/v/1.mp4';
      const failure = { key, source: '/data/id1/v/1.mp4', reason: 'no face in any sampled frame' };
      await store.putFailure(failure);
      await store.putFailure({
        key: 'id0/v/0.mp4',
        source: '/data/id0/v/0.mp4',
        reason: 'corrupt',
      });
      expect(store.hasFailure(key)).toBe(true);
      expect(store.hasVideo(key)).toBe(false);
      expect(store.isDone(key)).toBe(true);
      expect(store.getFailure(key)).toEqual(failure);
      expect(store.failures().map((f) => f.key)).toEqual(['id0/v/0.mp4', key]);

      await store.putVideo(video(key, 'id1', 2), jpegs(key, 2));
      expect(store.hasFailure(key)).toBe(false);
      expect(store.hasVideo(key)).toBe(true);
      expect(store.failures().map((f) => f.key)).toEqual(['id0/v/0.mp4']);

      await store.putFailure(failure);
      expect(store.hasVideo(key)).toBe(false);
      expect(() => store.readFrame(key, 0)).toThrow(/has no frame 0/);
      expect(store.hasFailure(key)).toBe(true);
    });
  });

  test('another process reads the store while this one holds it open for writing', async () => {
    const where = storePath();
    const lmdbPath = require.resolve('lmdb');
    const script = `
      const { open } = require(${JSON.stringify(lmdbPath)});
      const root = open({ path: ${JSON.stringify(where)}, maxDbs: 8, readOnly: true });
      const videos = root.openDB('videos', {});
      const frames = root.openDB('frames', { encoding: 'binary' });
      const frame = frames.get([process.argv[1], 0]);
      console.log(JSON.stringify({ count: videos.getKeysCount(), frame: frame && [...frame] }));
      root.close();
    `;
    const read = (key: string) => {
      const child = spawnSync(process.execPath, ['-e', script, key], { encoding: 'utf8' });
      expect(child.stderr).toBe('');
      return JSON.parse(child.stdout) as { count: number; frame?: number[] };
    };
    await withStore(where, SETTINGS, async (store) => {
      const a = video('id1/v/1.mp4', 'id1', 2);
      await store.putVideo(a, jpegs(a.key, 2));
      expect(read(a.key)).toEqual({ count: 1, frame: [...jpegs(a.key, 2)[0]!] });
      const b = video('id2/v/2.mp4', 'id2', 1);
      await store.putVideo(b, jpegs(b.key, 1));
      expect(read(b.key)).toEqual({ count: 2, frame: [...jpegs(b.key, 1)[0]!] });
    });
  });

  test('a writer killed mid-run loses no reported video and leaves no partial one', async () => {
    const where = storePath();
    const repo = path.resolve(__dirname, '../..');
    // Big frames, so that the kill most likely lands inside a transaction.
    const script = `
      const { DatasetStore } = require(${JSON.stringify(path.join(repo, 'src/data/store/store'))});
      (async () => {
        const store = await DatasetStore.create(${JSON.stringify(where)}, ${JSON.stringify(SETTINGS)});
        for (let i = 0; ; i++) {
          const key = 'id/v/' + String(i).padStart(4, '0');
          const frames = 20;
          await store.putVideo(
            { key, source: key, identity: 'id', videoId: 'v', frameIndices: [...Array(frames).keys()],
              points: new Float32Array(frames * 136), cropBox: { left: 0, top: 0, size: 9 },
              skippedFrames: [] },
            Array.from({ length: frames }, (_, j) => new Uint8Array(200000).fill(j)),
          );
          process.stdout.write(key + '\\n');
        }
      })();
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], { cwd: repo });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    let reported: string[] = [];
    let killed = false;
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      reported = text.split('\n').slice(0, -1);
      if (reported.length >= 5 && !killed) {
        killed = true;
        // Some time into the next video's write.
        setTimeout(() => child.kill('SIGKILL'), 20);
      }
    });
    await exited;
    expect(killed ? '' : `the writer exited early: ${stderr}`).toBe('');
    expect(reported.length).toBeGreaterThanOrEqual(5);

    // Every reported video is complete; the store holds no frames of a video it has no record of.
    await withStore(where, SETTINGS, async (store) => {
      const keys = store.videoKeys();
      expect(keys.slice(0, reported.length)).toEqual(reported);
      for (const key of keys) {
        expect(store.getVideo(key)!.frameIndices).toHaveLength(20);
        expect(store.readFrame(key, 19)[0]).toBe(19);
      }
    });
    const raw = open({ path: where, maxDbs: 8, readOnly: true });
    const frameKeys = [...raw.openDB('frames', { encoding: 'binary' }).getKeys()] as [
      string,
      number,
    ][];
    const videoKeys = new Set(raw.openDB('videos', {}).getKeys());
    await raw.close();
    expect(frameKeys.filter(([key]) => !videoKeys.has(key))).toEqual([]);
    expect(frameKeys).toHaveLength(videoKeys.size * 20);
  });

  test('opening for writing a store open read-only in this process is a clear error', async () => {
    const where = storePath();
    await withStore(where, SETTINGS, async () => undefined);
    const reader = DatasetStore.open(where);
    try {
      await expect(DatasetStore.create(where, SETTINGS)).rejects.toThrow(
        /open read-only in this process/,
      );
    } finally {
      await reader.close();
    }
    await withStore(where, SETTINGS, async (store) => expect(store.videoKeys()).toEqual([]));
  });
});

describe('mergeStores', () => {
  const dup = video('id1/v/dup.mp4', 'id1', 2, 7);

  async function shard(
    name: string,
    videos: VideoRecord[],
    failures: string[] = [],
    settings = SETTINGS,
  ): Promise<string> {
    const where = storePath(name);
    await withStore(where, settings, async (store) => {
      for (const v of videos) await store.putVideo(v, jpegs(v.key, v.frameIndices.length, 7));
      for (const key of failures) await store.putFailure({ key, source: key, reason: `${name}` });
      await store.finalise();
    });
    return where;
  }

  test('joins shards: an identical duplicate is counted once, failures carried over', async () => {
    const a = await shard(
      'a',
      [video('id1/v/a.mp4', 'id1', 3, 1), dup],
      ['id3/x.mp4', 'id4/c.mp4'],
    );
    // The same video found under another root: a different source, otherwise identical.
    const b = await shard(
      'b',
      [{ ...dup, source: '/elsewhere/id1/v/dup.mp4' }, video('id4/c.mp4', 'id4', 1, 3)],
      ['id3/x.mp4', 'id5/y.mp4'],
    );
    const output = storePath('merged');
    // One byte per batch: every video is its own transaction.
    const counts = await mergeStores(output, [a, b], { batchBytes: 1 });
    expect(counts).toEqual({ videos: 3, frames: 6, failures: 2, duplicates: 1 });

    const store = DatasetStore.open(output);
    try {
      expect(store.settings).toEqual(SETTINGS);
      expect(store.index()).toEqual({
        videos: ['id1/v/a.mp4', 'id1/v/dup.mp4', 'id4/c.mp4'],
        identities: ['id1', 'id4'],
        identityOf: [0, 0, 1],
        frameCounts: [3, 2, 1],
      });
      // id4/c.mp4 failed in shard a but has a video in b: the failure is dropped.
      expect(store.failures()).toEqual([
        { key: 'id3/x.mp4', source: 'id3/x.mp4', reason: 'a' },
        { key: 'id5/y.mp4', source: 'id5/y.mp4', reason: 'b' },
      ]);
      const got = store.getVideo('id1/v/a.mp4')!;
      expect(bits(got.points)).toEqual(bits(video('id1/v/a.mp4', 'id1', 3, 1).points));
      expect(Buffer.from(store.readFrame('id4/c.mp4', 0))).toEqual(
        Buffer.from(jpegs('id4/c.mp4', 1, 7)[0]!),
      );
    } finally {
      await store.close();
    }

    // Merging again into the now existing output changes nothing.
    expect(await mergeStores(output, [a, b])).toEqual({
      videos: 0,
      frames: 0,
      failures: 0,
      duplicates: 4,
    });
  });

  test('a key with different records in two inputs is refused before anything is written', async () => {
    const a = await shard('a', [dup]);
    const changed = video(dup.key, 'id1', 2, 8);
    const c = await shard('c', [changed]);
    const output = storePath('merged');
    expect(await userError(() => mergeStores(output, [a, c]))).toBe(
      `cannot merge: video '${dup.key}' differs between ${a} and ${c}`,
    );
    expect(fs.existsSync(output)).toBe(false);

    // Points alone differing (one bit) is a conflict too.
    const points = dup.points.slice();
    points[100] = Math.fround(points[100]! + 2 ** -20);
    const d = await shard('d', [{ ...dup, points }]);
    expect(await userError(() => mergeStores(output, [a, d]))).toContain('differs between');
  });

  test('stores with different settings are not merged', async () => {
    const a = await shard('a', [dup]);
    const q = await shard('q', [], [], { ...SETTINGS, jpegQuality: 75 });
    expect(await userError(() => mergeStores(storePath('merged'), [a, q]))).toBe(
      `${q}: jpegQuality is 75 but 90 in ${a}; only stores with equal settings can be merged`,
    );
    expect(await userError(() => mergeStores(a, [q]))).toContain(
      `${a}: holds a store made with jpegQuality=90, not jpegQuality=75`,
    );
    expect(await userError(() => mergeStores(a, [a]))).toContain('the output is also an input');
  });

  test('stores of different producers merge only with the output producer named, their other settings equal', async () => {
    const a = await shard('a', [dup]);
    const s = await shard('s', [video('id2/clip0', 'id2', 2, 3)], [], {
      ...SETTINGS,
      producer: 'synth',
    });
    expect(await userError(() => mergeStores(storePath('merged'), [a, s]))).toBe(
      `${s}: producer is synth but preprocess in ${a}; only stores with equal settings can be merged`,
    );
    const merged = storePath('merged');
    await mergeStores(merged, [a, s], { producer: 'corpus' });
    const store = DatasetStore.open(merged);
    try {
      expect(store.settings).toEqual({ ...SETTINGS, producer: 'corpus' });
      expect(store.index().videos).toEqual(['id1/v/dup.mp4', 'id2/clip0']);
    } finally {
      await store.close();
    }
    const q = await shard('q', [], [], { ...SETTINGS, producer: 'synth', size: 32 });
    expect(
      await userError(() => mergeStores(storePath('merged'), [a, q], { producer: 'corpus' })),
    ).toBe(`${q}: size is 32 but 64 in ${a}; only stores with equal settings can be merged`);
  });
});
