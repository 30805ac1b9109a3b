import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCli } from '../../src/cli/main';
import type { StoreReport } from '../../src/cli/commands/store';
import { STORE_FORMAT, type StoreSettings, type VideoRecord } from '../../src/data/store/schema';
import { DatasetStore } from '../../src/data/store/store';
import { capture, lines, STACK_FRAME } from './helpers';

const cli = (...argv: string[]) => capture((io) => runCli(['--log-level', 'silent', ...argv], io));

const SETTINGS: StoreSettings = {
  format: STORE_FORMAT,
  producer: 'synth',
  size: 128,
  framesPerVideo: 4,
  jpegQuality: 95,
  crop: { scale: 1.8, offsetY: -0.1 },
};

function video(key: string, identity: string, frames: number): VideoRecord {
  return {
    key,
    source: `stills/${key}.png`,
    identity,
    videoId: key,
    frameIndices: Array.from({ length: frames }, (_, j) => j),
    points: new Float32Array(frames * 136).fill(32.5),
    cropBox: { left: 0, top: 0, size: 128 },
    skippedFrames: [],
  };
}

const jpeg = (j: number) => Uint8Array.from([0xff, 0xd8, j, 0xff, 0xd9]);

let dir: string;
let shardA: string;
let shardB: string;

/** Shard a: 2 videos of 2 identities and 25 failures (more than info lists); shard b: 1 video. */
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'th-store-cli-'));
  shardA = path.join(dir, 'shard-a');
  shardB = path.join(dir, 'shard-b');
  const a = await DatasetStore.create(shardA, SETTINGS);
  await a.putVideo(video('bob/1', 'bob', 4), [0, 1, 2, 3].map(jpeg));
  await a.putVideo(video('alice/1', 'alice', 3), [0, 1, 2].map(jpeg));
  await a.putFailures(
    Array.from({ length: 25 }, (_, i) => ({
      key: `carol/${String(i).padStart(2, '0')}`,
      source: `stills/carol/${i}.png`,
      reason: i === 0 ? 'no face\nfound' : 'no face found',
    })),
  );
  await a.close();
  const b = await DatasetStore.create(shardB, SETTINGS);
  await b.putVideo(video('alice/2', 'alice', 2), [0, 1].map(jpeg));
  await b.finalise();
  await b.close();
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('talking-heads store', () => {
  test('info prints settings, counts, the first 20 failures and whether it is finalised', async () => {
    const out = await cli('store', 'info', shardA);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(lines(out.stdout)).toEqual([
      `store: ${shardA}`,
      'format: 1, made by synth',
      'frames: 128x128 JPEG (quality 95), up to 4 per video',
      'crop: scale 1.8, offsetY -0.1',
      'videos: 2',
      'identities: 2',
      'stored frames: 7',
      'failures: 25',
      // A reason with a newline stays on its line.
      '  carol/00: no face\\u000afound',
      ...Array.from(
        { length: 19 },
        (_, i) => `  carol/${String(i + 1).padStart(2, '0')}: no face found`,
      ),
      '  ... and 5 more',
      'finalised: no (run synth again to finish it)',
    ]);
  });

  test('info --json reports the same, with every failure', async () => {
    const out = await cli('store', 'info', shardB, '--json');
    expect(out.code).toBe(0);
    const report: StoreReport = JSON.parse(out.stdout);
    expect(report).toEqual({
      path: shardB,
      settings: SETTINGS,
      finalised: true,
      videos: 1,
      identities: 1,
      frames: 2,
      failures: [],
    });
    const a: StoreReport = JSON.parse((await cli('store', 'info', shardA, '--json')).stdout);
    expect(a.failures).toHaveLength(25);
    expect(a.failures[0]).toEqual({
      key: 'carol/00',
      source: 'stills/carol/0.png',
      reason: 'no face\nfound',
    });
  });

  test('merge joins the shards, prints the counts and finalises the output', async () => {
    const output = path.join(dir, 'merged');
    const out = await cli('store', 'merge', output, shardA, shardB);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(lines(out.stdout)).toEqual([
      `merged 2 stores into ${output}: 3 videos (9 frames), 25 failures, 0 duplicates skipped`,
    ]);
    const info: StoreReport = JSON.parse((await cli('store', 'info', output, '--json')).stdout);
    expect(info).toMatchObject({ finalised: true, videos: 3, identities: 2, frames: 9 });

    const again = await cli('store', 'merge', output, shardB);
    expect(lines(again.stdout)).toEqual([
      `merged 1 store into ${output}: 0 videos (0 frames), 0 failures, 1 duplicate skipped`,
    ]);
  });

  test('a path that is not a store is one line on stderr and exit status 2', async () => {
    const missing = path.join(dir, 'nope');
    const out = await cli('store', 'info', missing);
    expect(out.code).toBe(2);
    expect(out.stdout).toBe('');
    expect(lines(out.stderr)).toEqual([`talking-heads: ${missing}: no such store`]);
    expect(out.stderr).not.toMatch(STACK_FRAME);
    expect(fs.existsSync(missing)).toBe(false);

    const merged = await cli('store', 'merge', path.join(dir, 'out2'), shardA, missing);
    expect(merged.code).toBe(2);
    expect(lines(merged.stderr)).toEqual([`talking-heads: ${missing}: no such store`]);
  });

  test('a missing action or input is a usage error', async () => {
    for (const argv of [['store'], ['store', 'info'], ['store', 'merge', path.join(dir, 'x')]]) {
      const out = await cli(...argv);
      expect(out.code).toBe(2);
      expect(lines(out.stderr)).toHaveLength(1);
      expect(out.stderr).not.toMatch(STACK_FRAME);
    }
  });
});
