import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { runCli } from '../../src/cli/main';
import type { EvaluationReport } from '../../src/eval/evaluationReport';
import { makeUntrainedMetaCheckpoint } from '../helpers/metaCheckpoint';
import { makeTestStore } from '../helpers/testStore';
import { capture, expectUserError } from './helpers';

let dir: string;
let meta: string;
let store: string;

const cli = (args: string[]) =>
  capture((io) => runCli(['--backend', 'wasm', '--log-level', 'warn', ...args], io));

const METHODS = [
  'feed-forward',
  'fine-tuned-1',
  'copy-nearest-shot',
  'mean-shot',
  'warp-nearest-shot',
];
const METRIC_NAMES = ['l1', 'psnr', 'ssim', 'csim', 'verified', 'nme', 'detected'];

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'th-evaluate-'));
  meta = await makeUntrainedMetaCheckpoint(path.join(dir, 'meta'), {
    imageSize: 64,
    seed: 11,
    videos: 4,
  });
  // 2 identities of 2 clips; the checkpoint's split (5% held out, at least one) holds out one.
  store = await makeTestStore(dir, { size: 64, videos: 4, frames: 10 });
}, 120_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const evaluateArgs = (out: string, targets = 3) => [
  'evaluate',
  '--checkpoint',
  meta,
  '--data',
  store,
  '--shots',
  '1,4,8',
  '--finetune-epochs',
  '1',
  '--batch-size',
  '2',
  '--targets',
  String(targets),
  '--samples',
  '1',
  '--out',
  out,
];

test('evaluate writes the report with every metric and the three baselines; --resume adds nothing twice', async () => {
  const out = path.join(dir, 'eval');
  const run = await cli(evaluateArgs(out));
  expect(run.stderr).not.toMatch(/Error/);
  expect(run.code).toBe(0);
  // 8 shots + 3 targets need 11 frames; the videos have 10: skipped, with the reason, not failed.
  expect(run.stderr).toMatch(
    /skipping id\d\/clip\d at 8 shots: has 10 frames; 8 shots and 3 targets need 11/,
  );

  // The terminal table: one per shot count, a row per method, a column per metric.
  expect(run.stdout).toMatch(/^1 shot: 2 videos, 6 frames$/m);
  expect(run.stdout).toMatch(/^4 shots: 2 videos, 6 frames$/m);
  expect(run.stdout).toMatch(
    /^method +L1 ↓ +PSNR ↑ +SSIM ↑ +CSIM ↑ +verified ↑ +landmark NME ↓ +detected ↑$/m,
  );
  for (const m of METHODS) expect(run.stdout).toMatch(new RegExp(`^${m} +\\d\\.\\d{4} ± \\d`, 'm'));
  expect(run.stdout).toMatch(
    /^FID: skipped \(no --fid-weights given: FID needs the Inception weights of pytorch-fid/m,
  );
  expect(run.stdout).toContain(`report: ${path.join(out, 'report.md')}`);

  const report = JSON.parse(
    fs.readFileSync(path.join(out, 'report.json'), 'utf8'),
  ) as EvaluationReport;
  expect(report.complete).toBe(true);
  expect(report.methods).toEqual(METHODS);
  expect(report.fid).toEqual({ computed: false, reason: expect.stringContaining('--fid-weights') });
  expect(report.results.map((r) => r.shots)).toEqual([1, 4]);
  for (const result of report.results)
    for (const m of METHODS)
      for (const metric of METRIC_NAMES) {
        const v = result.methods[m]![metric as 'l1'];
        expect(Number.isFinite(v.mean)).toBe(true);
        expect(v.n).toBe(2);
        expect(v.halfWidth).toBeGreaterThanOrEqual(0);
      }
  // The two rates are shares of frames.
  for (const v of report.videos)
    for (const m of METHODS)
      for (const rate of [v.methods[m]!.verified, v.methods[m]!.detected]) {
        expect(rate).toBeGreaterThanOrEqual(0);
        expect(rate).toBeLessThanOrEqual(1);
        expect(rate * v.frames).toBeCloseTo(Math.round(rate * v.frames), 9);
      }
  // Per video: the held-out identity's two clips at each K.
  expect(report.videos).toHaveLength(4);
  expect(new Set(report.videos.map((v) => v.identity)).size).toBe(1);
  expect(report.skipped).toHaveLength(2);
  // The baselines behave as their definitions say.
  const one = report.results[0]!.methods;
  expect(one['copy-nearest-shot']!.psnr.mean).toBeLessThan(100);
  expect(one['mean-shot']!.l1.mean).toBeCloseTo(one['copy-nearest-shot']!.l1.mean, 6); // 1 shot: the same frame

  const markdown = fs.readFileSync(path.join(out, 'report.md'), 'utf8');
  expect(markdown).toMatch(/^## 1 shot \(2 videos, 6 frames\)$/m);
  expect(markdown).toMatch(
    /^\| method \| L1 ↓ \| PSNR ↑ \| SSIM ↑ \| CSIM ↑ \| verified ↑ \| landmark NME ↓ \| detected ↑ \|$/m,
  );
  expect(markdown).toMatch(/^## Per video$/m);
  expect(markdown).toMatch(/FID: skipped/);

  // One strip per shot count: landmarks | real | 5 methods.
  for (const k of [1, 4]) {
    const [strip] = fs.readdirSync(path.join(out, 'samples', `${k}-shots`));
    const meta = await sharp(path.join(out, 'samples', `${k}-shots`, strip!)).metadata();
    expect([meta.width, meta.height]).toEqual([64 * 7, 64]);
  }

  const again = await cli(evaluateArgs(out));
  expectUserError(again, /eval: already holds an evaluation; pass --resume/);
  const units = fs.readFileSync(path.join(out, 'units.jsonl'), 'utf8');
  const resumed = await cli([...evaluateArgs(out), '--resume']);
  expect(resumed.code).toBe(0);
  expect(fs.readFileSync(path.join(out, 'units.jsonl'), 'utf8')).toBe(units);
  const after = JSON.parse(
    fs.readFileSync(path.join(out, 'report.json'), 'utf8'),
  ) as EvaluationReport;
  expect(after.results).toEqual(report.results);

  const changed = await cli([...evaluateArgs(out, 2), '--resume']);
  expectUserError(
    changed,
    /eval: an evaluation with targets 3, not 2; resume with the same settings/,
  );
}, 300_000);

/** A quick feed-forward run on every video of `data`: 1 shot, 2 targets, 1 sample strip. */
const smallRunArgs = (data: string, out: string) => [
  'evaluate',
  '--checkpoint',
  meta,
  '--data',
  data,
  '--split',
  'all',
  '--shots',
  '1',
  '--targets',
  '2',
  '--samples',
  '1',
  '--out',
  out,
];

test("a store of larger frames is evaluated at the checkpoint's size", async () => {
  const big = await makeTestStore(path.join(dir, 'big'), { size: 128, videos: 4, frames: 10 });
  const out = path.join(dir, 'eval-big');
  const result = await cli(smallRunArgs(big, out));
  expect(result.code).toBe(0);
  const [strip] = fs.readdirSync(path.join(out, 'samples', '1-shots'));
  const { width, height } = await sharp(path.join(out, 'samples', '1-shots', strip!)).metadata();
  expect([width, height]).toEqual([64 * 6, 64]);
}, 120_000);

test('--across-recordings takes the shots from another video of the same identity', async () => {
  const out = path.join(dir, 'eval-across');
  const result = await cli([...smallRunArgs(store, out), '--across-recordings']);
  expect(result.code).toBe(0);
  const report = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8')) as {
    settings: { acrossRecordings: boolean };
    videos: { video: string; shotVideo?: string; identity: string }[];
  };
  expect(report.settings.acrossRecordings).toBe(true);
  // Two clips of each identity: each is the target once, with the other's shots.
  expect(report.videos).toHaveLength(4);
  for (const v of report.videos) {
    expect(v.shotVideo).toBeDefined();
    expect(v.shotVideo).not.toBe(v.video);
    expect(v.shotVideo!.split('/')[0]).toBe(v.identity);
  }
  expect(fs.readFileSync(path.join(out, 'report.md'), 'utf8')).toMatch(
    /\(shots from id\d\/clip\d\)/,
  );
}, 120_000);

test('--shots-from keeps the pairs whose shots come from that video', async () => {
  const out = path.join(dir, 'eval-shots-from');
  const across = [...smallRunArgs(store, out), '--across-recordings'];
  expectUserError(await cli([...across, '--shots-from', 'clip0']), /--shots-from clip0: ambiguous/);
  expectUserError(
    await cli([...across, '--shots-from', 'id9/clip7']),
    /--shots-from id9\/clip7: no such video in the split/,
  );
  const usage = await cli([...smallRunArgs(store, out), '--shots-from', 'id0/clip0']);
  expect(usage.stderr).toMatch(/--shots-from needs --across-recordings/);
  const result = await cli([...across, '--shots-from', 'id0/clip0']);
  expect(result.code).toBe(0);
  const report = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8')) as {
    settings: { shotsFrom: string };
    videos: { video: string; shotVideo?: string }[];
  };
  expect(report.settings.shotsFrom).toBe('id0/clip0');
  expect(report.videos.map((v) => `${v.video}<-${v.shotVideo}`)).toEqual(['id0/clip1<-id0/clip0']);
}, 120_000);

test('bad input is a one-line error naming the file', async () => {
  const out = path.join(dir, 'bad');
  expectUserError(
    await cli(['evaluate', '--checkpoint', meta, '--data', path.join(dir, 'nope'), '--out', out]),
    /nope: no such store/,
  );
  expectUserError(
    await cli(['evaluate', '--checkpoint', meta, '--data', store, '--shots', '20', '--out', out]),
    /nothing to evaluate: id\d\/clip\d has 10 frames; 20 shots and 8 targets need 28/,
  );
  const small = await makeTestStore(path.join(dir, 'small'), { size: 32, videos: 4, frames: 10 });
  expectUserError(
    await cli(['evaluate', '--checkpoint', meta, '--data', small, '--out', out]),
    /frames are 32 px, smaller than the frames the checkpoint .* was trained on \(64 px\)/,
  );
  expectUserError(
    await cli([
      'evaluate',
      '--checkpoint',
      meta,
      '--data',
      store,
      '--fid-weights',
      path.join(dir, 'missing.pth'),
    ]),
    /missing\.pth: no such file \(--fid-weights\)/,
  );
  const usage = await cli(['evaluate', '--checkpoint', meta, '--data', store, '--shots', '1,x']);
  expect(usage.code).not.toBe(0);
  expect(usage.stderr).toMatch(/--shots must be positive integers separated by commas, got "1,x"/);
  expect(fs.existsSync(out)).toBe(false);
}, 120_000);
