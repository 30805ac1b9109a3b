import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { runCli } from '../../src/cli/main';
import { resolveBinary } from '../../src/data/video/binaries';
import { probeVideo } from '../../src/data/video/probe';
import { runTool } from '../../src/data/video/run';
import { decodeFrames } from '../../src/data/video/decode';
import { ASTRONAUT, GRACE_HOPPER, writeFaceVideo } from '../helpers/videos';
import { capture, expectUserError, makeUntrainedPerson } from './helpers';

const ROOT = path.join(__dirname, '..', '..');
let dir: string;
let meta: string;
let person: string;
let driver40: string;

const cli = (args: string[]) =>
  capture((io) => runCli(['--backend', 'wasm', '--log-level', 'warn', ...args], io));

async function formatTags(file: string): Promise<Record<string, string>> {
  const { stdout } = await runTool(
    resolveBinary('ffprobe'),
    ['-v', 'error', '-show_entries', 'format_tags', '-of', 'json', file],
    file,
  );
  return (JSON.parse(stdout.toString()) as { format: { tags: Record<string, string> } }).format
    .tags;
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'th-animate-'));
  ({ meta, person } = await makeUntrainedPerson(cli, {
    dir,
    photo: ASTRONAUT,
    seed: 2,
    name: 'astronaut',
  }));
  driver40 = path.join(dir, 'driver40.mp4');
  await writeFaceVideo(driver40, GRACE_HOPPER, { frames: 40 });
}, 120_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('animate writes one frame per driver frame at its fps, tagged as synthetic', async () => {
  const out = path.join(dir, 'out.mp4');
  const result = await cli(['animate', '--person', person, '--driver', driver40, '--out', out]);
  expect(result.code).toBe(0);
  expect(result.stdout).toMatch(/wrote .*out\.mp4: 40 frames at 25\.000 fps/);
  const info = await probeVideo(out);
  expect(info).toMatchObject({ width: 64, height: 64, fps: 25, frameCount: 40, hasAudio: false });
  const tags = await formatTags(out);
  expect(tags.comment).toMatch(
    /^made by talking-heads: synthetic video, model step-0-[0-9a-f]{12}\/person-[0-9a-f]{12}$/,
  );
  expect(tags.description).toMatch(/Synthetic \(AI-generated\) video made by talking-heads/);
}, 120_000);

test("--side-by-side, --watermark, --no-retarget and the driver's sound", async () => {
  const withSound = path.join(dir, 'driver-sound.mp4');
  await runTool(
    resolveBinary('ffmpeg'),
    [
      '-v',
      'error',
      '-y',
      '-i',
      driver40,
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=440:duration=3',
      '-c:v',
      'copy',
      '-c:a',
      'aac',
      '-shortest',
      withSound,
    ],
    withSound,
  );
  const out = path.join(dir, 'side.mp4');
  const plain = path.join(dir, 'plain.mp4');
  const args = [
    'animate',
    '--person',
    person,
    '--driver',
    withSound,
    '--side-by-side',
    '--no-retarget',
  ];
  expect((await cli([...args, '--watermark', '--out', out])).code).toBe(0);
  expect((await cli([...args, '--out', plain])).code).toBe(0);
  const info = await probeVideo(out);
  expect(info).toMatchObject({ width: 192, height: 64, frameCount: 40, hasAudio: true });
  // The watermark darkens the bottom-left band and leaves the rest of the frame as it was.
  const first = async (file: string) => {
    const frames = decodeFrames(file);
    try {
      return (await frames.next()).value!.rgb as Uint8Array;
    } finally {
      // Stopping early kills ffmpeg; an abandoned generator would leave it blocked on its pipe.
      await frames.return(undefined);
    }
  };
  const [marked, clean] = [await first(out), await first(plain)];
  const meanAt = (rgb: Uint8Array, x0: number, x1: number, y0: number, y1: number) => {
    let sum = 0;
    for (let y = y0; y < y1; y++)
      for (let x = x0; x < x1; x++)
        sum += Math.abs(rgb[(y * 192 + x) * 3]! - clean[(y * 192 + x) * 3]!);
    return sum / ((x1 - x0) * (y1 - y0));
  };
  expect(meanAt(marked, 0, 60, 56, 64)).toBeGreaterThan(20);
  expect(meanAt(marked, 80, 192, 0, 40)).toBeLessThan(3);
}, 120_000);

test('--image: one-shot feed-forward from a portrait and a meta checkpoint', async () => {
  const out = path.join(dir, 'oneshot.mp4');
  const result = await cli([
    'animate',
    '--image',
    GRACE_HOPPER,
    '--checkpoint',
    meta,
    '--driver',
    driver40,
    '--out',
    out,
  ]);
  expect(result.code).toBe(0);
  expect((await probeVideo(out)).frameCount).toBe(40);
  expect((await formatTags(out)).comment).toMatch(/model step-0-[0-9a-f]{12}\/one-shot$/);
}, 120_000);

/** Runs animate as its own process and returns its peak RSS in KiB. */
function peakRss(driver: string, out: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        // V8 sizes its heaps from its measured GC speed: on a loaded machine it lets garbage
        // grow by tens of MiB, which can pass for a 20% leak. With both generations capped the
        // peak is the program's own memory, and a real leak of JS objects dies of OOM instead.
        '--max-semi-space-size=1',
        '--max-old-space-size=160',
        '--import',
        'tsx',
        'test/helpers/cliMain.ts',
        '--backend',
        'wasm',
        '--log-level',
        'warn',
        'animate',
        '--person',
        person,
        '--driver',
        driver,
        '--out',
        out,
      ],
      {
        cwd: ROOT,
        env: { ...process.env, TH_REPORT_MAX_RSS: '1' },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const match = /max-rss-kb (\d+)/.exec(stderr);
      if (code !== 0 || !match) reject(new Error(`animate exited ${code}: ${stderr}`));
      else resolve(Number(match[1]));
    });
  });
}

test('memory is bounded: a 400-frame driver peaks within 20% of a 40-frame one', async () => {
  const driver400 = path.join(dir, 'driver400.mp4');
  await writeFaceVideo(driver400, GRACE_HOPPER, { frames: 400 });
  const short = await peakRss(driver40, path.join(dir, 'm40.mp4'));
  const long = await peakRss(driver400, path.join(dir, 'm400.mp4'));
  console.log(
    `animate peak RSS: 40 frames ${(short / 1024).toFixed(0)} MiB, 400 frames ${(long / 1024).toFixed(0)} MiB`,
  );
  expect((await probeVideo(path.join(dir, 'm400.mp4'))).frameCount).toBe(400);
  expect(long).toBeLessThan(short * 1.2);
}, 240_000);

test('bad input: an unreadable driver, a portrait without a face, a missing person model', async () => {
  const junk = path.join(dir, 'junk.mp4');
  fs.writeFileSync(junk, 'not a video at all');
  expectUserError(
    await cli(['animate', '--person', person, '--driver', junk, '--out', path.join(dir, 'j.mp4')]),
    /junk\.mp4: /,
  );
  expect(fs.existsSync(path.join(dir, 'j.mp4'))).toBe(false);
  const wall = path.join(dir, 'wall.png');
  await sharp({ create: { width: 96, height: 96, channels: 3, background: '#a0a0a0' } })
    .png()
    .toFile(wall);
  expectUserError(
    await cli(['animate', '--image', wall, '--checkpoint', meta, '--driver', driver40]),
    /wall\.png: no face found/,
  );
  expectUserError(
    await cli(['animate', '--person', path.join(dir, 'nobody'), '--driver', driver40]),
    /nobody.*person\.json: no such file/,
  );
  expectUserError(
    await cli(['animate', '--person', meta, '--driver', driver40]),
    /meta.*person\.json: no such file: .*meta is not a person model/,
  );
}, 60_000);
