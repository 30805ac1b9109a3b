import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import type { RgbImage } from '../../src/data/image';
import { imageGrid } from '../../src/data/imageLayout';
import { readEventFile } from '../../src/train/tensorboard/eventReader';
import { EventWriter, FILE_VERSION } from '../../src/train/tensorboard/eventWriter';
import {
  decodeEvent,
  encodeEvent,
  readFields,
  WireType,
  type ProtoField,
} from '../../src/train/tensorboard/protobuf';
import {
  CorruptRecordError,
  crc32c,
  frameRecord,
  maskedCrc32c,
  readRecords,
  TruncatedRecordError,
} from '../../src/train/tensorboard/recordFraming';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const ascii = (s: string): number[] => [...Buffer.from(s, 'latin1')];

/**
 * Event { wall_time: 1700000000.5, step: 300, summary { value { tag: "loss/g", simple_value: 0.25 } } }
 * encoded by hand from the field numbers in event.proto / summary.proto (key = field << 3 | wire).
 */
const GOLDEN_EVENT = Uint8Array.from([
  0x09, // Event.wall_time: field 1, wire type 1 (fixed64)
  ...[0x00, 0x00, 0x20, 0x40, 0xfc, 0x54, 0xd9, 0x41], // 1700000000.5 as a LE IEEE-754 double
  0x10, // Event.step: field 2, wire type 0 (varint)
  0xac,
  0x02, // 300 = 0b10_0101100 -> 0xac (low 7 bits, continuation), 0x02
  0x2a, // Event.summary: field 5, wire type 2 (length-delimited)
  0x0f, // 15 bytes of Summary
  0x0a, // Summary.value: field 1, wire type 2
  0x0d, // 13 bytes of Value
  0x0a, // Value.tag: field 1, wire type 2
  0x06,
  ...ascii('loss/g'),
  0x15, // Value.simple_value: field 2, wire type 5 (fixed32)
  ...[0x00, 0x00, 0x80, 0x3e], // 0.25 as a LE IEEE-754 float
]);

/**
 * GOLDEN_EVENT framed as a TFRecord: length 29 (LE uint64), masked CRC32C of those 8 bytes,
 * the event, masked CRC32C of the event. CRCs computed with an independent bitwise CRC32C.
 */
const GOLDEN_RECORD = hex(`
  1d 00 00 00 00 00 00 00  60 2f df 23
  09 00 00 20 40 fc 54 d9 41 10 ac 02 2a 0f 0a 0d 0a 06 6c 6f 73 73 2f 67 15 00 00 80 3e
  96 ce 12 fa`);

describe('CRC32C and masking', () => {
  test('known CRC32C values (RFC 3720 B.4 and the usual check string)', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
  });

  test('masked CRC: rotate right 15, add 0xa282ead8 mod 2^32', () => {
    // crc 0x8a9136aa: the low 15 bits (0x36aa) move to the top, the high 17 to the bottom:
    // 0x36aa << 17 = 0x6d540000, 0x8a9136aa >>> 15 = 0x11522, together 0x6d551522;
    // + 0xa282ead8 = 0x1_0fd7fffa, which mod 2^32 is 0x0fd7fffa.
    const rotated = 0x6d551522;
    expect(((0x8a9136aa >>> 15) | (0x8a9136aa << 17)) >>> 0).toBe(rotated);
    expect((rotated + 0xa282ead8) % 2 ** 32).toBe(0x0fd7fffa);
    expect(maskedCrc32c(new Uint8Array(32))).toBe(0x0fd7fffa);
    // CRC of nothing is 0, so its mask is the constant alone.
    expect(maskedCrc32c(new Uint8Array(0))).toBe(0xa282ead8);
  });
});

describe('TFRecord framing', () => {
  const payloads = [
    Uint8Array.from([1, 2, 3]),
    new Uint8Array(0),
    Uint8Array.from({ length: 300 }, (_, i) => (i * 7) & 0xff),
  ];
  const framed = Buffer.concat(payloads.map(frameRecord));
  // Record start offsets: 16 bytes of framing around each payload.
  const offsets = [0, 19, 35];

  test('frames the golden record byte for byte', () => {
    expect(Buffer.from(frameRecord(GOLDEN_EVENT)).toString('hex')).toBe(
      Buffer.from(GOLDEN_RECORD).toString('hex'),
    );
  });

  test('frame then read back', () => {
    expect(framed.length).toBe(3 + 0 + 300 + 3 * 16);
    expect(readRecords(framed).map((r) => [...r])).toEqual(payloads.map((p) => [...p]));
    expect(readRecords(new Uint8Array(0))).toEqual([]);
  });

  test('a flipped data byte fails the data CRC, naming the record offset', () => {
    const bad = Uint8Array.from(framed);
    bad[offsets[2] + 12 + 100] ^= 0x01;
    expect(() => readRecords(bad)).toThrow(CorruptRecordError);
    expect(() => readRecords(bad)).toThrow(/byte offset 35: 300 data bytes fail their CRC32C/);
  });

  test('a flipped length byte fails the length CRC, naming the record offset', () => {
    const bad = Uint8Array.from(framed);
    bad[offsets[1]] ^= 0x04;
    expect(() => readRecords(bad)).toThrow(CorruptRecordError);
    expect(() => readRecords(bad)).toThrow(/byte offset 19: length field fails its CRC32C/);
    // A flipped CRC byte is caught the same way.
    const badCrc = Uint8Array.from(framed);
    badCrc[offsets[2] + 9] ^= 0x80;
    expect(() => readRecords(badCrc)).toThrow(/byte offset 35: length field/);
  });

  test.each([
    ['inside the header', 5],
    ['inside the data', 12 + 150],
    ['inside the data CRC', 12 + 300 + 2],
  ])('a tail cut off %s is reported as truncation', (_where, keep) => {
    const cut = framed.subarray(0, offsets[2] + keep);
    let caught: unknown;
    try {
      readRecords(cut);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(TruncatedRecordError);
    expect(caught).not.toBeInstanceOf(CorruptRecordError);
    expect((caught as TruncatedRecordError).offset).toBe(35);
    expect((caught as Error).message).toMatch(/truncated record at byte offset 35/);
    expect(readRecords(cut, { allowTruncatedTail: true }).map((r) => [...r])).toEqual([
      [1, 2, 3],
      [],
    ]);
  });
});

describe('protobuf encoding', () => {
  test('the golden scalar event, encoded by hand, equals the encoder output', () => {
    const bytes = encodeEvent({
      wallTime: 1700000000.5,
      step: 300,
      summary: { value: [{ tag: 'loss/g', simpleValue: 0.25 }] },
    });
    expect(Buffer.from(bytes).toString('hex')).toBe(Buffer.from(GOLDEN_EVENT).toString('hex'));
    expect(decodeEvent(GOLDEN_EVENT)).toEqual({
      wallTime: 1700000000.5,
      step: 300,
      summary: { value: [{ tag: 'loss/g', simpleValue: 0.25 }] },
    });
  });

  test('int64 step: negatives are 10-byte two’s complement varints; zero is left out', () => {
    expect([...encodeEvent({ wallTime: 0, step: -1 })]).toEqual([
      0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
    ]);
    expect(decodeEvent(encodeEvent({ wallTime: 0, step: -1 })).step).toBe(-1);
    expect(decodeEvent(encodeEvent({ wallTime: 1, step: 2 ** 40 + 3 })).step).toBe(2 ** 40 + 3);
    expect([...encodeEvent({ wallTime: 0, step: 0 })]).toEqual([]);
  });

  test('a zero simple_value is still written (it is a oneof member)', () => {
    const bytes = encodeEvent({
      wallTime: 0,
      step: 0,
      summary: { value: [{ tag: 'z', simpleValue: 0 }] },
    });
    // summary(5) > value(1) > tag(1) "z", simple_value(2) = 0.0f
    expect([...bytes]).toEqual([0x2a, 0x0a, 0x0a, 0x08, 0x0a, 0x01, 0x7a, 0x15, 0, 0, 0, 0]);
  });

  test('the reader rejects malformed messages', () => {
    expect(() => readFields(Uint8Array.from([0x0a, 0x05, 0x01]))).toThrow(/runs past the end/);
    expect(() => readFields(Uint8Array.from([0x10, 0x80]))).toThrow(/varint runs past/);
    expect(() => decodeEvent(Uint8Array.from([0x08, 0x01]))).toThrow(
      /Event field 1 has wire type 0, expected 1/,
    );
  });
});

/** A w x h image whose every pixel differs from its neighbours and from other seeds. */
function testImage(w: number, h: number, seed: number): RgbImage {
  const rgb = Uint8Array.from({ length: w * h * 3 }, (_, i) => (seed * 37 + i * 11 + 1) & 0xff);
  return { rgb, width: w, height: h };
}

function pixel(img: RgbImage, x: number, y: number): number[] {
  const at = (y * img.width + x) * 3;
  return [...img.rgb.subarray(at, at + 3)];
}

describe('imageGrid', () => {
  test('places cells row by row with padding between and around', () => {
    const [w, h, pad] = [4, 3, 2];
    const cells = [0, 1].map((r) => [0, 1, 2].map((c) => testImage(w, h, r * 3 + c)));
    const grid = imageGrid(cells, pad);
    expect([grid.width, grid.height]).toEqual([3 * w + 4 * pad, 2 * h + 3 * pad]);
    for (let r = 0; r < 2; r++)
      for (let c = 0; c < 3; c++)
        for (let y = 0; y < h; y++)
          for (let x = 0; x < w; x++)
            expect(pixel(grid, pad + c * (w + pad) + x, pad + r * (h + pad) + y)).toEqual(
              pixel(cells[r][c], x, y),
            );
    expect(pixel(grid, 0, 0)).toEqual([0, 0, 0]);
    expect(pixel(grid, pad + w, pad)).toEqual([0, 0, 0]); // gap between columns
    expect(pixel(grid, pad, pad + h)).toEqual([0, 0, 0]); // gap between rows
  });

  test('rejects cells of different sizes and empty input', () => {
    expect(() => imageGrid([[testImage(4, 3, 0), testImage(3, 4, 1)]])).toThrow(
      /cell \[0\]\[1\] is 3x4, the first is 4x3/,
    );
    expect(() => imageGrid([[]])).toThrow(/at least one image/);
  });
});

describe('EventWriter', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'tfevents-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function onlyFile(): Promise<string> {
    const names = await readdir(dir);
    expect(names).toHaveLength(1);
    return path.join(dir, names[0]);
  }

  test('file name is events.out.tfevents.<unix seconds>.<hostname><suffix>', async () => {
    const before = Math.floor(Date.now() / 1000);
    const writer = await EventWriter.create(path.join(dir, 'run', 'a'), {
      filenameSuffix: '.meta',
    });
    await writer.close();
    const after = Math.floor(Date.now() / 1000);
    expect(path.dirname(writer.file)).toBe(path.join(dir, 'run', 'a'));
    const match = /^events\.out\.tfevents\.(\d+)\.(.+)\.meta$/.exec(path.basename(writer.file));
    expect(match).not.toBeNull();
    expect(Number(match![1])).toBeGreaterThanOrEqual(before);
    expect(Number(match![1])).toBeLessThanOrEqual(after + 1);
    expect(match![2]).toBe(os.hostname());
  });

  test('two writers started in the same second get separate files', async () => {
    const a = await EventWriter.create(dir);
    const b = await EventWriter.create(dir);
    expect(a.file).not.toBe(b.file);
    a.scalar('x', 1, 1);
    b.scalar('x', 2, 1);
    await Promise.all([a.close(), b.close()]);
    for (const w of [a, b])
      expect((await readEventFile(w.file)).map((e) => e.kind)).toEqual(['fileVersion', 'scalar']);
  });

  test('the writer’s scalar record equals the hand-encoded golden record', async () => {
    const writer = await EventWriter.create(dir);
    writer.scalar('loss/g', 0.25, 300, 1700000000.5);
    await writer.close();
    const bytes = await readFile(writer.file);
    const [first] = readRecords(bytes);
    const second = bytes.subarray(16 + first.length);
    expect(second.toString('hex')).toBe(Buffer.from(GOLDEN_RECORD).toString('hex'));
  });

  test('a whole file decodes record by record', async () => {
    const t0 = Date.now() / 1000;
    const writer = await EventWriter.create(dir, { filenameSuffix: '.train' });
    writer.scalar('loss/g', 0.1, 1, 1700000001.25);
    writer.scalars({ 'loss/d': NaN, 'loss/fm': Infinity, lr: 2e-4, zero: 0 }, 2, 1700000002);
    const cells = [0, 1].map((r) => [0, 1, 2].map((c) => testImage(5, 4, r * 3 + c)));
    const grid = imageGrid(cells);
    await writer.image('samples/grid', grid.rgb, grid.width, grid.height, 2, 1700000003);
    writer.scalar('loss/g', -Infinity, 3, 1700000004);
    await writer.close();
    expect(await onlyFile()).toBe(writer.file);

    const records = readRecords(await readFile(writer.file));
    expect(records).toHaveLength(5);
    const keys = (fields: ProtoField[]) => fields.map((f) => [f.field, f.wireType]);
    const fieldOf = (fields: ProtoField[], n: number) => fields.find((f) => f.field === n)!;

    // file_version event: wall_time (1, double), file_version (3, string); step 0 is left out.
    const first = readFields(records[0]);
    expect(keys(first)).toEqual([
      [1, WireType.fixed64],
      [3, WireType.lengthDelimited],
    ]);
    expect(Buffer.from(fieldOf(first, 3).value as Uint8Array).toString()).toBe('brain.Event:2');
    const wall = Buffer.from(fieldOf(first, 1).value as Uint8Array).readDoubleLE(0);
    expect(wall).toBeGreaterThanOrEqual(t0 - 1);
    expect(wall).toBeLessThanOrEqual(Date.now() / 1000 + 1);

    // scalars event: wall_time (1), step (2, varint), summary (5) > value (1) x4 > tag (1), simple_value (2, fixed32)
    const multi = readFields(records[2]);
    expect(keys(multi)).toEqual([
      [1, WireType.fixed64],
      [2, WireType.varint],
      [5, WireType.lengthDelimited],
    ]);
    expect(fieldOf(multi, 2).value).toBe(2n);
    const values = readFields(fieldOf(multi, 5).value as Uint8Array);
    expect(keys(values)).toEqual(Array(4).fill([1, WireType.lengthDelimited]));
    const nan = readFields(values[0].value as Uint8Array);
    expect(keys(nan)).toEqual([
      [1, WireType.lengthDelimited],
      [2, WireType.fixed32],
    ]);
    expect(Buffer.from(nan[0].value as Uint8Array).toString()).toBe('loss/d');
    expect(Buffer.from(nan[1].value as Uint8Array).readFloatLE(0)).toBeNaN();

    // image event: summary > value > tag (1), image (4) > height (1), width (2), colorspace (3), encoded (4)
    const imageValue = readFields(
      readFields(fieldOf(readFields(records[3]), 5).value as Uint8Array)[0].value as Uint8Array,
    );
    expect(keys(imageValue)).toEqual([
      [1, WireType.lengthDelimited],
      [4, WireType.lengthDelimited],
    ]);
    const image = readFields(imageValue[1].value as Uint8Array);
    expect(keys(image)).toEqual([
      [1, WireType.varint],
      [2, WireType.varint],
      [3, WireType.varint],
      [4, WireType.lengthDelimited],
    ]);
    expect(image.slice(0, 3).map((f) => f.value)).toEqual([
      BigInt(grid.height),
      BigInt(grid.width),
      3n,
    ]);

    const events = await readEventFile(writer.file);
    expect(events[0]).toEqual({
      kind: 'fileVersion',
      fileVersion: FILE_VERSION,
      step: 0,
      wallTime: wall,
    });
    expect(events.slice(1, 6)).toEqual([
      { kind: 'scalar', tag: 'loss/g', value: Math.fround(0.1), step: 1, wallTime: 1700000001.25 },
      { kind: 'scalar', tag: 'loss/d', value: NaN, step: 2, wallTime: 1700000002 },
      { kind: 'scalar', tag: 'loss/fm', value: Infinity, step: 2, wallTime: 1700000002 },
      { kind: 'scalar', tag: 'lr', value: Math.fround(2e-4), step: 2, wallTime: 1700000002 },
      { kind: 'scalar', tag: 'zero', value: 0, step: 2, wallTime: 1700000002 },
    ]);
    expect(Math.fround(0.1)).not.toBe(0.1); // the float32 rounding is real
    const img = events[6];
    expect(img).toMatchObject({
      kind: 'image',
      tag: 'samples/grid',
      step: 2,
      wallTime: 1700000003,
    });
    expect(events[7]).toEqual({
      kind: 'scalar',
      tag: 'loss/g',
      value: -Infinity,
      step: 3,
      wallTime: 1700000004,
    });
    expect(events).toHaveLength(8);

    if (img.kind !== 'image') throw new Error('not an image');
    expect([img.width, img.height]).toEqual([grid.width, grid.height]);
    expect([...img.png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const { data, info } = await sharp(img.png).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height, info.channels]).toEqual([grid.width, grid.height, 3]);
    expect(Buffer.compare(data, Buffer.from(grid.rgb))).toBe(0);
  });

  test('a crash mid-write leaves a detectable truncated tail; the records before it survive', async () => {
    const writer = await EventWriter.create(dir);
    for (let step = 1; step <= 3; step++) writer.scalar('loss', step / 2, step);
    await writer.close();
    const bytes = await readFile(writer.file);
    const cutFile = path.join(dir, 'cut.tfevents');
    await writeFile(cutFile, bytes.subarray(0, bytes.length - 3));
    await expect(readEventFile(cutFile)).rejects.toThrow(TruncatedRecordError);
    await expect(readEventFile(cutFile)).rejects.toThrow(
      /cut\.tfevents: truncated record at byte offset/,
    );
    const kept = await readEventFile(cutFile, { allowTruncatedTail: true });
    expect(kept.map((e) => e.step)).toEqual([0, 1, 2]);
  });

  test('buffers writes and flushes them on a timer, on flush() and on close()', async () => {
    const writer = await EventWriter.create(dir, { flushIntervalMs: 60_000 });
    const afterCreate = (await stat(writer.file)).size;
    expect(afterCreate).toBeGreaterThan(0); // the file_version event is written at once
    writer.scalar('a', 1, 1);
    expect((await stat(writer.file)).size).toBe(afterCreate);
    await writer.flush();
    expect((await stat(writer.file)).size).toBeGreaterThan(afterCreate);

    const timed = await EventWriter.create(path.join(dir, 'timed'), { flushIntervalMs: 20 });
    timed.scalar('b', 2, 1);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await readEventFile(timed.file)).map((e) => e.kind)).toEqual(['fileVersion', 'scalar']);

    const pendingImage = writer.image('img', new Uint8Array(2 * 2 * 3).fill(9), 2, 2, 5);
    await writer.close(); // waits for the image being encoded
    await pendingImage;
    expect((await readEventFile(writer.file)).map((e) => e.kind)).toEqual([
      'fileVersion',
      'scalar',
      'image',
    ]);
    expect(() => writer.scalar('late', 1, 6)).toThrow(/closed/);
    await timed.close();
  });

  test('rejects bad steps and image sizes', async () => {
    const writer = await EventWriter.create(dir);
    expect(() => writer.scalar('x', 1, 1.5)).toThrow(/step 1.5 must be an integer/);
    await expect(writer.image('x', new Uint8Array(11), 2, 2, 1)).rejects.toThrow(
      /11 bytes, 2x2 RGB needs 12/,
    );
    await writer.close();
  });
});

// An extra check against TensorBoard's own loader, where Python has the package (CI does not).
const python = process.env.PYTHON ?? 'python3';
const hasTensorboard =
  spawnSync(python, ['-c', 'import tensorboard'], { stdio: 'ignore', timeout: 20_000 }).status ===
  0;

(hasTensorboard ? test : test.skip)('TensorBoard’s EventFileLoader reads the file', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tfevents-py-'));
  try {
    const writer = await EventWriter.create(dir);
    writer.scalars({ 'loss/g': 0.5, 'loss/d': NaN }, 7);
    const grid = imageGrid([[testImage(3, 2, 1), testImage(3, 2, 2)]]);
    await writer.image('grid', grid.rgb, grid.width, grid.height, 7);
    await writer.close();
    const script = `
import json, sys
from tensorboard.backend.event_processing import event_file_loader
from tensorboard.util import tensor_util
out = []
for e in event_file_loader.EventFileLoader(sys.argv[1]).Load():
    if e.HasField('file_version'):
        out.append({'fileVersion': e.file_version})
    for v in e.summary.value:
        plugin = v.metadata.plugin_data.plugin_name
        t = tensor_util.make_ndarray(v.tensor)
        if plugin == 'scalars':
            out.append({'step': e.step, 'tag': v.tag, 'plugin': plugin, 'value': repr(float(t))})
        else:
            w, h, png = t.tolist()
            out.append({'step': e.step, 'tag': v.tag, 'plugin': plugin,
                        'width': int(w), 'height': int(h), 'png': png.hex()})
print(json.dumps(out))
`;
    const run = spawnSync(python, ['-c', script, writer.file], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.stderr).toBe('');
    const events = await readEventFile(writer.file);
    const img = events.find((e) => e.kind === 'image');
    expect(JSON.parse(run.stdout)).toEqual([
      { fileVersion: FILE_VERSION },
      { step: 7, tag: 'loss/g', plugin: 'scalars', value: '0.5' },
      { step: 7, tag: 'loss/d', plugin: 'scalars', value: 'nan' },
      {
        step: 7,
        tag: 'grid',
        plugin: 'images',
        width: grid.width,
        height: grid.height,
        png: img?.kind === 'image' ? Buffer.from(img.png).toString('hex') : '',
      },
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
