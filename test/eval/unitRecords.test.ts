import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { UnitRecord } from '../../src/eval/evaluationReport';
import { appendUnitRecord, readUnitRecords } from '../../src/eval/unitRecords';

const record = (video: string): UnitRecord => ({
  video,
  identity: 'x',
  shots: 1,
  shotFrames: [0],
  targetFrames: [1, 2],
  methods: {
    'mean-shot': {
      l1: [0.1, 0.2],
      psnr: [20, 21],
      ssim: [0.5, 0.6],
      csim: [0.9, 0.8],
      verified: [1, 0],
      nme: [0.05, 0.06],
      detected: [1, 1],
    },
  },
  nonFiniteSteps: 0,
});

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'th-units-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

test('records round-trip; a missing file is no records', () => {
  const file = path.join(dir, 'units.jsonl');
  expect(readUnitRecords(file)).toEqual([]);
  appendUnitRecord(file, record('a'));
  appendUnitRecord(file, record('b'));
  expect(readUnitRecords(file)).toEqual([record('a'), record('b')]);
});

test('a torn last line (a crash mid-append) is dropped and cut from the file', () => {
  const file = path.join(dir, 'units.jsonl');
  appendUnitRecord(file, record('a'));
  const whole = fs.readFileSync(file, 'utf8');
  fs.appendFileSync(file, JSON.stringify(record('b')).slice(0, 30));
  expect(readUnitRecords(file)).toEqual([record('a')]);
  expect(fs.readFileSync(file, 'utf8')).toBe(whole);
  appendUnitRecord(file, record('c'));
  expect(readUnitRecords(file).map((r) => r.video)).toEqual(['a', 'c']);
});

test('damage before the last line is a one-line error naming the file', () => {
  const file = path.join(dir, 'units.jsonl');
  fs.writeFileSync(file, 'not json\n' + JSON.stringify(record('a')) + '\n');
  expect(() => readUnitRecords(file)).toThrow(/units\.jsonl: line 1 is not a unit record/);
});
