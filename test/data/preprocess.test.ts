import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCli } from '../../src/cli/main';
import { DatasetStore } from '../../src/data/store/store';
import { capture, lines, STACK_FRAME } from '../cli/helpers';
import {
  GRACE_HOPPER,
  writeFaceVideo,
  writeNoFaceVideo,
  writeTruncatedCopy,
} from '../helpers/videos';

const ROOT = path.join(__dirname, '..', '..');
let dir: string;
let good: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'th-preprocess-'));
  good = path.join(dir, 'good.mp4');
  await writeFaceVideo(good, GRACE_HOPPER, { frames: 16, blank: [7] });
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const preprocess = (...args: string[]) =>
  capture((io) => runCli(['--backend', 'wasm', 'preprocess', ...args], io));

function openStore(store: string) {
  return DatasetStore.open(store);
}

test('one good video, one corrupt file, one without a face: exit 0 and a summary naming both failures', async () => {
  const input = path.join(dir, 'mixed');
  fs.mkdirSync(input);
  fs.copyFileSync(good, path.join(input, 'good.mp4'));
  writeTruncatedCopy(good, path.join(input, 'corrupt.mp4'));
  await writeNoFaceVideo(path.join(input, 'noface.mp4'), 12);
  const out = path.join(dir, 'mixed-store');
  const result = await preprocess(input, '--out', out, '--frames', '8', '--min-frames', '4');
  expect(result.code).toBe(0);
  expect(result.stderr).not.toMatch(STACK_FRAME);
  const summary = lines(result.stdout);
  expect(summary[0]).toMatch(
    /^finished: 1 stored, 0 already done, 2 failed, of 3 videos; 7 frames stored/,
  );
  expect(summary).toContainEqual(
    expect.stringMatching(/^failed: .*corrupt\.mp4: corrupt or truncated/),
  );
  expect(summary).toContainEqual(
    expect.stringMatching(/^failed: .*noface\.mp4: no face found in 8 sampled frames$/),
  );

  const store = openStore(out);
  try {
    const index = store.index();
    expect(index.videos).toEqual(['good']);
    const record = store.getVideo('good')!;
    // 16 frames, 8 sampled: 1, 3, ..., 15; frame 7 is blank (no face), so it is reported and skipped.
    expect(record.frameIndices).toEqual([1, 3, 5, 9, 11, 13, 15]);
    expect(record.skippedFrames).toEqual([{ index: 7, reason: 'no face' }]);
    expect(record.points).toHaveLength(7 * 136);
    expect(store.failures().map((f) => f.key)).toEqual(['corrupt', 'noface']);
  } finally {
    await store.close();
  }

  // A rerun redoes nothing: the good video is stored and the two failures are recorded.
  const again = await preprocess(input, '--out', out, '--frames', '8', '--min-frames', '4');
  expect(again.code).toBe(0);
  expect(lines(again.stdout)[0]).toMatch(
    /^finished: 0 stored, 3 already done, 0 failed, of 3 videos/,
  );
});

test('a store made with other settings is refused by name', async () => {
  const out = path.join(dir, 'mixed-store');
  const result = await preprocess(path.join(dir, 'mixed'), '--out', out, '--frames', '6');
  expect(result.code).toBe(2);
  expect(lines(result.stderr)).toHaveLength(1);
  expect(result.stderr).toMatch(/mixed-store.*framesPerVideo/);
});

test('a missing input is a one-line error', async () => {
  const result = await preprocess(path.join(dir, 'nope'), '--out', path.join(dir, 'x'));
  expect(result.code).toBe(2);
  expect(result.stderr).toMatch(/^talking-heads: .*nope: no such file or directory\n$/);
});

/** Four identities, one clip each (VoxCeleb2 layout). */
function corpus(name: string): string {
  const input = path.join(dir, name);
  for (const id of ['id00001', 'id00002', 'id00003', 'id00004']) {
    fs.mkdirSync(path.join(input, id, 'yt'), { recursive: true });
    fs.copyFileSync(good, path.join(input, id, 'yt', '00001.mp4'));
  }
  return input;
}

/**
 * Runs the CLI as its own process and sends it `signal` as soon as the first video is committed
 * (read from this process while it writes); resolves to what it printed and how it ended.
 */
async function interruptAfterFirstVideo(args: string[], out: string, signal: NodeJS.Signals) {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, 'test/helpers/cliMain.ts'), '--backend', 'wasm', ...args],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] },
  );
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  let stored = 0;
  const deadline = Date.now() + 90_000;
  while (stored === 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    if (!fs.existsSync(path.join(out, 'data.mdb'))) continue;
    try {
      const store = openStore(out);
      stored = store.videoKeys().length;
      await store.close();
    } catch {
      // not a complete store yet
    }
  }
  child.kill(signal);
  const code = await exited;
  return { stored, code, stdout };
}

test('killed mid-run and restarted, preprocess finishes without redoing or duplicating videos', async () => {
  const input = corpus('corpus');
  const out = path.join(dir, 'killed-store');
  const args = ['preprocess', input, '--out', out, '--frames', '6', '--min-frames', '2'];
  const { stored } = await interruptAfterFirstVideo(args, out, 'SIGKILL');
  expect(stored).toBeGreaterThan(0);

  const resumed = await preprocess(...args.slice(1));
  expect(resumed.code).toBe(0);
  const [first] = lines(resumed.stdout);
  const match = /^finished: (\d+) stored, (\d+) already done, 0 failed, of 4 videos/.exec(first!);
  expect(match).not.toBeNull();
  const [storedNow, alreadyDone] = [Number(match![1]), Number(match![2])];
  expect(alreadyDone).toBeGreaterThanOrEqual(stored);
  expect(storedNow + alreadyDone).toBe(4);

  const store = openStore(out);
  try {
    const index = store.index();
    expect(index.videos).toEqual([
      'id00001/yt/00001',
      'id00002/yt/00001',
      'id00003/yt/00001',
      'id00004/yt/00001',
    ]);
    expect(index.identities).toEqual(['id00001', 'id00002', 'id00003', 'id00004']);
    for (const key of index.videos) {
      const record = store.getVideo(key)!;
      expect(record.identity).toBe(key.slice(0, 7));
      expect(record.videoId).toBe('yt');
      expect(record.points).toHaveLength(record.frameIndices.length * 136);
    }
    expect(index.frameCounts).toEqual([6, 6, 6, 6]); // frames 1, 4, 6, 9, 12, 14
  } finally {
    await store.close();
  }
}, 180_000);

test('Ctrl-C stops after the video in hand: exit 130, the store finalised and resumable', async () => {
  const input = corpus('corpus-interrupted');
  const out = path.join(dir, 'interrupted-store');
  const args = ['preprocess', input, '--out', out, '--frames', '6', '--min-frames', '2'];
  const { code, stdout } = await interruptAfterFirstVideo(args, out, 'SIGINT');
  expect(code).toBe(130);
  expect(lines(stdout)[0]).toMatch(
    /^interrupted: \d+ stored, 0 already done, 0 failed, of 4 videos/,
  );
  expect(lines(stdout)).toContain(`run the same command again to resume into ${out}`);
  const store = openStore(out);
  try {
    const index = store.index(); // finalised on the way out
    expect(index.videos.length).toBeGreaterThan(0);
    expect(index.videos.length).toBeLessThan(4);
  } finally {
    await store.close();
  }
}, 120_000);

test('two shards merged equal one full run, point for point', async () => {
  const input = path.join(dir, 'corpus');
  const full = path.join(dir, 'killed-store');
  const common = ['--frames', '6', '--min-frames', '2'];
  for (const shard of ['0', '1']) {
    const r = await preprocess(
      input,
      '--out',
      path.join(dir, `shard${shard}`),
      '--shard',
      shard,
      '--num-shards',
      '2',
      ...common,
    );
    expect(r.code).toBe(0);
  }
  const merged = path.join(dir, 'merged');
  const m = await capture((io) =>
    runCli(['store', 'merge', merged, path.join(dir, 'shard0'), path.join(dir, 'shard1')], io),
  );
  expect(m.code).toBe(0);
  const a = openStore(full);
  const b = openStore(merged);
  try {
    expect(b.index()).toEqual(a.index());
    for (const key of a.index().videos) {
      expect(Buffer.from(b.pointBytes(key)!)).toEqual(Buffer.from(a.pointBytes(key)!));
    }
  } finally {
    await a.close();
    await b.close();
  }
}, 120_000);

test('--shard out of range is a usage error', async () => {
  const result = await preprocess(
    dir,
    '--out',
    path.join(dir, 'x'),
    '--shard',
    '2',
    '--num-shards',
    '2',
  );
  expect(result.code).toBe(2);
  expect(result.stderr).toMatch(/--shard must be an integer in \[0, 1\]/);
});
