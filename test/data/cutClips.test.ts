import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { clipName, clipRanges, cutClips } from '../../src/data/video/cutClips';
import { decodeFrames } from '../../src/data/video/decode';
import { VideoWriter } from '../../src/data/video/encode';
import { UserError } from '../../src/errors';
import { writeTruncatedCopy } from '../helpers/videos';

// Each frame carries its index as 8 bits, one 8x16 px block a bit (white 1, black 0): large
// enough to survive H.264 at any quality, so every decoded frame says which source frame it is.
const WIDTH = 64;
const HEIGHT = 16;
const BITS = 8;

function numberedFrame(index: number): Uint8Array {
  const rgb = new Uint8Array(WIDTH * HEIGHT * 3);
  for (let y = 0; y < HEIGHT; y++)
    for (let x = 0; x < WIDTH; x++) {
      const bit = (index >> Math.floor(x / (WIDTH / BITS))) & 1;
      rgb.fill(bit ? 255 : 0, (y * WIDTH + x) * 3, (y * WIDTH + x + 1) * 3);
    }
  return rgb;
}

function indexOf(rgb: Uint8Array): number {
  let index = 0;
  for (let b = 0; b < BITS; b++) {
    const x = b * (WIDTH / BITS) + WIDTH / BITS / 2;
    const at = ((HEIGHT / 2) * WIDTH + x) * 3;
    if (rgb[at]! > 127) index |= 1 << b;
  }
  return index;
}

async function framesOf(file: string): Promise<number[]> {
  const found: number[] = [];
  for await (const frame of decodeFrames(file)) found.push(indexOf(frame.rgb));
  return found;
}

let dir: string;
let source: string;
const FRAMES = 107;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'th-cut-'));
  source = path.join(dir, 'long.mp4');
  const writer = new VideoWriter(source, { width: WIDTH, height: HEIGHT, fps: 25 });
  for (let i = 0; i < FRAMES; i++) await writer.write(numberedFrame(i));
  await writer.close();
  expect(await framesOf(source)).toEqual([...Array(FRAMES).keys()]);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('clip ranges cover every frame once, in order; a short tail joins the last clip', () => {
  expect(clipRanges(100, { framesPerClip: 25 })).toEqual([
    { first: 0, end: 25 },
    { first: 25, end: 50 },
    { first: 50, end: 75 },
    { first: 75, end: 100 },
  ]);
  expect(clipRanges(107, { framesPerClip: 25, minFrames: 10 }).at(-1)).toEqual({
    first: 75,
    end: 107,
  });
  expect(clipRanges(112, { framesPerClip: 25, minFrames: 10 }).at(-1)).toEqual({
    first: 100,
    end: 112,
  });
  expect(clipRanges(10, { framesPerClip: 25, minFrames: 20 })).toEqual([{ first: 0, end: 10 }]);
  expect(clipRanges(100, { framesPerClip: 25, maxClips: 2 })).toHaveLength(2);
});

test('a long video cut into clips: the count, names in order, no frame lost or repeated', async () => {
  const out = path.join(dir, 'clips');
  const clips = await cutClips(source, out, { framesPerClip: 25, minFrames: 10 });
  // 107 frames: four clips of 25, the 7-frame tail joined to the fourth.
  expect(clips.map((c) => path.basename(c.file))).toEqual([0, 1, 2, 3].map(clipName));
  expect(fs.readdirSync(out).sort()).toEqual([0, 1, 2, 3].map(clipName));
  const decoded: number[] = [];
  for (const clip of clips) {
    const frames = await framesOf(clip.file);
    expect(frames).toEqual([...Array(clip.end - clip.first).keys()].map((i) => clip.first + i));
    decoded.push(...frames);
  }
  expect(decoded).toEqual([...Array(FRAMES).keys()]);
});

test('--max-clips keeps the first clips; a rerun leaves whole clips alone and makes the missing ones', async () => {
  const out = path.join(dir, 'partial');
  const two = await cutClips(source, out, { framesPerClip: 30, maxClips: 2 });
  expect(two.map((c) => [c.first, c.end])).toEqual([
    [0, 30],
    [30, 60],
  ]);
  const kept = fs.statSync(two[0]!.file).mtimeMs;
  fs.rmSync(two[1]!.file);
  const again = await cutClips(source, out, { framesPerClip: 30, maxClips: 2 });
  expect(fs.statSync(again[0]!.file).mtimeMs).toBe(kept);
  expect(await framesOf(again[1]!.file)).toEqual([...Array(30).keys()].map((i) => 30 + i));
});

test('a damaged source is a one-line error naming it, and leaves no clip behind', async () => {
  const damaged = path.join(dir, 'damaged.mp4');
  writeTruncatedCopy(source, damaged);
  const out = path.join(dir, 'damaged-clips');
  const error = await cutClips(damaged, out, { framesPerClip: 25 }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(UserError);
  expect((error as Error).message).toMatch(/damaged\.mp4: /);
  expect((error as Error).message).not.toContain('\n');
  expect(fs.existsSync(out) ? fs.readdirSync(out).filter((f) => f.endsWith('.mp4')) : []).toEqual(
    [],
  );
});
