import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { SuiteResults } from '../../bench/suite/results';

const ROOT = path.join(__dirname, '..', '..');

function runSuite(args: string[], timeoutMs: number) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'bench/suite/main.ts', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: timeoutMs,
  });
}

/** Every outcome in the results: objects with a median time or a skip reason. */
function outcomes(value: unknown, where = '$'): [string, Record<string, unknown>][] {
  if (value == null || typeof value !== 'object') return [];
  const found: [string, Record<string, unknown>][] = [];
  const record = value as Record<string, unknown>;
  if ('medianMs' in record || 'skipped' in record) found.push([where, record]);
  for (const [key, child] of Object.entries(record))
    found.push(...outcomes(child, `${where}.${key}`));
  return found;
}

const positive = (x: unknown) => typeof x === 'number' && Number.isFinite(x) && x > 0;

test('the smoke suite runs every benchmark family end to end and writes both files', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'th-bench-suite-'));
  try {
    const run = runSuite(['--smoke', '--out', out, '--backends', 'wasm,cpu'], 240_000);
    expect(run.status).toBe(0);
    const files = fs.readdirSync(out).sort();
    // Only the two results files: the temporary files of the atomic writes are gone.
    expect(files).toHaveLength(2);
    const [json, md] = files as [string, string];
    expect(json).toMatch(/^\d{4}-\d{2}-\d{2}-[A-Za-z0-9._-]+\.json$/);
    expect(md).toBe(json.replace(/\.json$/, '.md'));

    const results = JSON.parse(fs.readFileSync(path.join(out, json), 'utf8')) as SuiteResults;
    expect(results.machine).toMatchObject({ mode: 'smoke', quick: false, tfjs: '4.22.0' });
    for (const key of ['cpu', 'os', 'node', 'host', 'date'] as const)
      expect(results.machine[key]).toEqual(expect.any(String));
    expect(positive(results.machine.cores) && positive(results.machine.totalRamGiB)).toBe(true);
    expect(results.backends.filter((b) => b.why == null).map((b) => b.name)).toEqual([
      'wasm',
      'cpu',
    ]);
    for (const section of ['generatorFlops', 'convLayers', 'generatorFps'] as const)
      expect(results[section].map((s) => s.preset)).toEqual(['tiny', 'paper']);
    // Fine-tuning in a process of its own, and again after meta-learning in the same process.
    expect(results.finetuneStep.map((s) => [s.preset, s.afterMetaSteps])).toEqual([
      ['tiny', undefined],
      ['tiny', 2],
      ['paper', undefined],
    ]);
    // The paper's meta step twice: L_CNT on face-api's net, and on VGG19 + VGG-Face.
    expect(results.metaStep.map((s) => [s.preset, s.contentLoss])).toEqual([
      ['tiny', 'faceapi'],
      ['paper', 'faceapi'],
      ['paper', 'vgg'],
    ]);
    expect(Object.keys(results.preprocess.results).sort()).toEqual(['cpu', 'wasm']);
    expect(positive(results.seconds)).toBe(true);

    // Every figure is either measured (finite, positive, ordered) or skipped with a reason.
    const all = outcomes(results);
    expect(all.length).toBeGreaterThan(80);
    for (const [where, o] of all) {
      if ('skipped' in o) {
        expect([where, o.skipped]).toEqual([where, expect.stringMatching(/^[^\n]{10,}$/)]);
        continue;
      }
      for (const key of ['medianMs', 'minMs', 'maxMs', 'figure', 'runs'])
        expect([where, key, positive(o[key])]).toEqual([where, key, true]);
      expect((o.minMs as number) <= (o.medianMs as number)).toBe(true);
      expect((o.medianMs as number) <= (o.maxMs as number)).toBe(true);
    }

    // What must have run in smoke mode: the tiny preset on wasm, every family, with its RSS.
    const tinyFlops = results.generatorFlops[0]!;
    expect(positive(tinyFlops.gflopPerFrame)).toBe(true);
    const tinyConvs = results.convLayers[0]!;
    expect(tinyConvs.shapes.length).toBeGreaterThan(5);
    for (const row of tinyConvs.shapes)
      expect(row.results.wasm?.forward).toMatchObject({ unit: 'GFLOP/s' });
    expect(positive(tinyConvs.processes.wasm?.peakRssMiB)).toBe(true);
    for (const [section, unit] of [
      [results.metaStep[0]!, 'GFLOP/s'],
      [results.finetuneStep[0]!, 'GFLOP/s'],
      [results.finetuneStep[1]!, 'GFLOP/s'],
      [results.generatorFps[0]!, 'frames/s'],
    ] as const) {
      const wasm = section.results.wasm!;
      expect(wasm.outcome).toMatchObject({ unit });
      expect(positive(wasm.peakRssMiB) && positive(wasm.gflop)).toBe(true);
    }
    expect(results.generatorFps[0]!.results.onnxruntime?.outcome).toMatchObject({
      unit: 'frames/s',
    });
    expect(positive(results.preprocess.results.wasm?.decodedFps)).toBe(true);
    // Paper-size cases are out of smoke mode, and say so.
    for (const paper of [results.metaStep[1]!, results.metaStep[2]!])
      expect(paper.results.wasm?.outcome).toEqual({
        skipped: 'smoke mode runs the tiny preset only',
      });

    // The Markdown: the machine line, every table with its rows, printed on stdout too.
    const markdown = fs.readFileSync(path.join(out, md), 'utf8');
    expect(run.stdout).toBe(markdown);
    expect(markdown).toContain(results.machine.cpu);
    for (const heading of [
      '### Generator FLOPs',
      '### Conv layers of G, tiny at 64 px',
      '### Conv layers of G, paper at 256 px',
      '### Training steps',
      '### Generator frames per second',
      '### Preprocessing',
      '### Peak RSS',
    ])
      expect(markdown).toContain(heading);
    for (const row of [
      /^\| tiny \| 64 \| 0\.045 \|/m,
      /^\| 64x64x3 3x3 -> 8 \| 1x \|/m,
      /^\| forward \| [\d.]+ \| [\d.]+ \| [\d.]+x \|$/m,
      /^\| meta-learning \| tiny \| 64 \| K=2, batch 1, 1 D step, L_CNT face-api \| [\d.]+ \| [\d.]+ \([\d.]+-[\d.]+\) \|/m,
      /^\| meta-learning \| paper \| 256 \| K=8, batch 1, 2 D steps, L_CNT VGG19 \+ VGG-Face \|/m,
      /^\| fine-tuning \| paper \| 256 \|/m,
      /^\| fine-tuning \| tiny \| 64 \| batch 1, 1 D step, L_CNT face-api, after 2 meta-learning steps in the process \| [\d.]+ \| [\d.]+ \(/m,
      /^\| tiny \| 64 \| 0\.045 \| [\d.]+ \(/m,
      /^\| wasm \| [\d.]+ \| [\d.]+ \|/m,
      /^\| meta-learning step, tiny, L_CNT face-api \| \d+ \|/m,
    ])
      expect(markdown).toMatch(row);
    // Progress went to stderr.
    expect(run.stderr).toMatch(/meta-learning step, tiny, L_CNT face-api, wasm: done in/);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}, 250_000);

/** A native backend whose package is not installed here, if there is one. */
function missingNativeBackend(): string | undefined {
  const packages = {
    tensorflow: '@tensorflow/tfjs-node',
    'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  };
  return Object.entries(packages).find(([, pkg]) => {
    try {
      require.resolve(pkg);
      return false;
    } catch {
      return true;
    }
  })?.[0];
}

test('a bad option or an unavailable backend is a one-line error and exit 2', () => {
  const missing = missingNativeBackend();
  const cases: [string[], RegExp][] = [
    [['--bogus'], /^bench: unknown option '--bogus'; see --help\n$/],
    [['--backends', 'wasm,nope'], /^bench: --backends: unknown backend 'nope'; choose from/],
    [['--quick', '--smoke'], /^bench: --quick and --smoke exclude each other\n$/],
    [['--out'], /^bench: --out needs a value\n$/],
    [
      ['--out', path.join(__filename, 'sub')],
      /^bench: --out .*sub: cannot write there \(ENOTDIR\)\n$/,
    ],
  ];
  if (missing)
    cases.push([
      ['--backends', missing],
      new RegExp(`^bench: --backends: backend '${missing}' is not available: `),
    ]);
  for (const [args, message] of cases) {
    const run = runSuite(args, 30_000);
    expect([args, run.status]).toEqual([args, 2]);
    expect(run.stderr).toMatch(message);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  }
});
