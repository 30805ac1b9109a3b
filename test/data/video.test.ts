import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { BINARY_ENV, resolveBinary } from '../../src/data/video/binaries';
import { decodeFrames } from '../../src/data/video/decode';
import { VideoWriter } from '../../src/data/video/encode';
import { probeVideo } from '../../src/data/video/probe';
import { UserError } from '../../src/errors';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'th-video-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A smooth moving colour pattern: easy for H.264, different in every frame. */
function frame(t: number, width: number, height: number): Uint8Array {
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      rgb[i] = (x * 4 + t * 8) % 256;
      rgb[i + 1] = (y * 4) % 256;
      rgb[i + 2] = 128 + 100 * Math.sin((x + y + t * 3) / 10);
    }
  return rgb;
}

async function writeVideo(
  file: string,
  count: number,
  fps = 25,
  width = 64,
  height = 48,
): Promise<Uint8Array[]> {
  const writer = new VideoWriter(file, {
    width,
    height,
    fps,
    crf: 10,
    metadata: { comment: 'made by talking-heads test' },
  });
  const frames = Array.from({ length: count }, (_, t) => frame(t, width, height));
  for (const f of frames) await writer.write(f);
  expect(await writer.close()).toBe(count);
  return frames;
}

test('round trip: encode to mp4, probe, decode back within a small error', async () => {
  const file = path.join(dir, 'round.mp4');
  const frames = await writeVideo(file, 12);
  const info = await probeVideo(file);
  expect(info).toMatchObject({ width: 64, height: 48, fps: 25, frameCount: 12, hasAudio: false });
  expect(fs.readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  let n = 0;
  for await (const decoded of decodeFrames(file)) {
    const original = frames[decoded.index]!;
    let error = 0;
    for (let i = 0; i < original.length; i++) error += Math.abs(decoded.rgb[i]! - original[i]!);
    expect(error / original.length).toBeLessThan(4); // mean absolute error, in 0-255 levels
    n++;
  }
  expect(n).toBe(12);
  const tags = spawnSync(resolveBinary('ffprobe'), [
    '-v',
    'error',
    '-show_entries',
    'format_tags=comment',
    '-of',
    'default=nw=1:nk=1',
    file,
  ]);
  expect(tags.stdout.toString().trim()).toBe('made by talking-heads test');
});

test('decoding resizes and resamples, and stopping early leaves no ffmpeg behind', async () => {
  const file = path.join(dir, 'resample.mp4');
  await writeVideo(file, 20, 20);
  const sizes: string[] = [];
  for await (const f of decodeFrames(file, { size: { width: 32, height: 24 }, fps: 10 }))
    sizes.push(`${f.width}x${f.height}:${f.rgb.length}`);
  expect(sizes).toEqual(Array(10).fill(`32x24:${32 * 24 * 3}`));
  for await (const f of decodeFrames(file)) {
    if (f.index === 2) break; // the generator's finally kills ffmpeg
  }
});

describe('bad input is a one-line user error naming the file', () => {
  const oneLine = async (attempt: Promise<unknown>, pattern: RegExp) => {
    const err = await attempt.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(pattern);
    expect((err as Error).message).not.toContain('\n');
  };

  test('missing file', () =>
    oneLine(probeVideo(path.join(dir, 'none.mp4')), /none\.mp4: no such file/));

  test('corrupt file', async () => {
    const file = path.join(dir, 'corrupt.mp4');
    fs.writeFileSync(file, Buffer.from('this is not a video at all'.repeat(20)));
    await oneLine(probeVideo(file), /corrupt\.mp4: /);
  });

  test('truncated file', async () => {
    const file = path.join(dir, 'whole.mp4');
    await writeVideo(file, 12);
    const cut = path.join(dir, 'truncated.mp4');
    const bytes = fs.readFileSync(file);
    fs.writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await oneLine(probeVideo(cut), /truncated\.mp4: corrupt or truncated: /);
  });

  test('no video stream', async () => {
    const file = path.join(dir, 'audio.m4a');
    const made = spawnSync(resolveBinary('ffmpeg'), [
      '-v',
      'error',
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=440:duration=0.5',
      '-c:a',
      'aac',
      file,
    ]);
    expect(made.status).toBe(0);
    await oneLine(probeVideo(file), /audio\.m4a: no video stream/);
  });

  test('odd frame size for H.264', () => {
    expect(
      () => new VideoWriter(path.join(dir, 'odd.mp4'), { width: 63, height: 48, fps: 25 }),
    ).toThrow(/needs an even width and height, got 63x48/);
  });

  test('missing binary', () => {
    const saved = process.env[BINARY_ENV.ffprobe];
    process.env[BINARY_ENV.ffprobe] = path.join(dir, 'no-ffprobe');
    try {
      expect(() => resolveBinary('ffprobe')).toThrow(
        /ffprobe not found at .*no-ffprobe \(\$TALKING_HEADS_FFPROBE\)/,
      );
    } finally {
      if (saved === undefined) delete process.env[BINARY_ENV.ffprobe];
      else process.env[BINARY_ENV.ffprobe] = saved;
    }
  });
});
