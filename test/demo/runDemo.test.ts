/**
 * @jest-environment ./test/helpers/hostTypedArraysEnvironment.js
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { runCli } from '../../src/cli/main';
import { createProgress } from '../../src/cli/progress';
import { demoFiles, DEMO_SETTINGS, type DemoSettings } from '../../src/demo/demoStages';
import { runDemo } from '../../src/demo/runDemo';
import { SHIPPED_MODEL_DIR } from '../../src/train/metaCheckpoint';
import type { EvaluationReport } from '../../src/eval/evaluationReport';
import { DatasetStore } from '../../src/data/store/store';
import { probeVideo } from '../../src/data/video/probe';
import { silentLogger } from '../../src/log';
import { capture, captureIO, expectUserError } from '../cli/helpers';

/** The demo's pipeline at the smallest sizes that still run every stage. */
const SMALL: DemoSettings = {
  ...DEMO_SETTINGS,
  fromScratch: true,
  // No face-api L_CNT (the slow part of a step), two steps, no evaluation or images in training.
  configOverrides: [
    'train.steps=2',
    'loss.faceapi=0',
    'log.evalEvery=0',
    'log.imagesEvery=0',
    'log.checkpointEvery=2',
  ],
  corpusFrames: 9,
  clipSeconds: 1,
  maxClips: 3,
  synthClips: 1,
  finetuneEpochs: 1,
  oneShotEpochs: 1,
  driverFrames: 10,
  evaluateEpochs: 0,
  evaluateTargets: 2,
  fromScratchEpochs: { finetuneEpochs: 1, oneShotEpochs: 1, evaluateEpochs: 0 },
};

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'th-demo-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function demo(
  out: string,
  io: ReturnType<typeof captureIO>['io'],
  resume = false,
  settings: DemoSettings = SMALL,
) {
  return runDemo({
    out,
    minutes: 0.5,
    resume,
    settings,
    cli: (argv) => runCli(['--backend', 'wasm', '--log-level', 'warn', ...argv], io),
    ctx: {
      ...io,
      log: silentLogger(),
      initBackend: async () => {
        const { initBackend } = await import('../../src/backend/select');
        return initBackend({ backend: 'wasm' });
      },
      progress: (total, unit) => createProgress(total, unit, io.stderr),
    },
  });
}

test('every stage runs and leaves its output; the summary says where; --resume skips them all', async () => {
  const out = path.join(dir, 'demo');
  const files = demoFiles(out);
  const first = captureIO();
  const status = await demo(out, first.io);
  if (status !== 0) throw new Error(first.text.stderr.slice(-2000));
  const stages = [
    'corpus',
    'train-meta',
    'finetune-speaker',
    'finetune-mona',
    'animate',
    'export-onnx',
    'evaluate',
  ];
  for (const stage of stages) expect(first.text.stderr).toContain(`] ${stage}: `);
  for (const file of [files.speakerAnimation, files.monaAnimation, files.onnx, files.strip])
    expect(fs.statSync(file).size).toBeGreaterThan(0);
  expect(fs.readdirSync(path.join(files.run, 'checkpoints'))).toContain('latest');
  for (const person of [files.speaker, files.mona])
    expect(fs.readdirSync(person)).toContain('person.json');
  // Meta-learning saw franck's clips and portraits, never the held-out webcam speaker.
  const train = DatasetStore.open(files.trainStore);
  try {
    const videos = train.index().videos;
    expect(videos).toContain('franck/franck/clip-002');
    expect(videos.filter((key) => /cap1[23]|webcam|joconde/.test(key))).toEqual([]);
  } finally {
    await train.close();
  }
  // animate --frames: the driver's first 10 frames, both people.
  for (const video of [files.speakerAnimation, files.monaAnimation])
    expect((await probeVideo(video)).frameCount).toBe(10);
  // The driver, the speaker and the Mona Lisa at 6 moments, 64 px panels shown at 2x.
  const strip = await sharp(files.strip).metadata();
  expect([strip.width, strip.height]).toEqual([6 * 64 * 2, 3 * 64 * 2]);
  const report = JSON.parse(
    fs.readFileSync(path.join(files.evaluation, 'report.json'), 'utf8'),
  ) as EvaluationReport;
  expect(report.split).toBe('all');
  expect(report.settings.acrossRecordings).toBe(true);
  // The direction only: fine-tuned on cap12_edit, driven by cap13_edit2.
  expect(report.videos.map((v) => `${v.video}<-${v.shotVideo}`)).toEqual([
    'webcam-speaker/cap13_edit2<-webcam-speaker/cap12_edit',
  ]);
  expect(report.store).toBe(files.heldoutStore);
  expect(report.methods).toEqual([
    'feed-forward',
    'copy-nearest-shot',
    'mean-shot',
    'warp-nearest-shot',
  ]);
  expect(report.results[0]!.shots).toBe(8);
  expect(first.text.stdout).toContain('onnxruntime');
  for (const file of [files.run, files.speakerAnimation, files.onnx, files.strip])
    expect(first.text.stdout).toContain(file);
  expect(first.text.stdout).toContain(`tensorboard --logdir ${files.run}`);

  // A used directory is refused without --resume; with it, every finished stage is skipped.
  await expect(demo(out, captureIO().io)).rejects.toThrow(/not empty; give --resume/);
  const resumed = captureIO();
  expect(await demo(out, resumed.io, true)).toBe(0);
  expect(resumed.text.stderr.match(/done in an earlier run, skipped/g)).toHaveLength(7);
}, 300_000);

test('by default the demo starts from the shipped model: no corpus, no meta-learning, the speaker held out', async () => {
  const out = path.join(dir, 'shipped');
  const files = demoFiles(out);
  const run = captureIO();
  const status = await demo(out, run.io, false, { ...SMALL, fromScratch: false });
  if (status !== 0) throw new Error(run.text.stderr.slice(-2000));
  const stages = run.text.stderr.match(/\] [a-z-]+: /g)!.map((s) => s.slice(2, -2));
  expect(stages).toEqual([
    'heldout-store',
    'finetune-speaker',
    'finetune-mona',
    'animate',
    'export-onnx',
    'evaluate',
  ]);
  expect(fs.existsSync(files.run)).toBe(false);
  expect(fs.existsSync(files.trainStore)).toBe(false);
  // The person models came from the shipped model, at its 128 px.
  const person = JSON.parse(fs.readFileSync(path.join(files.speaker, 'person.json'), 'utf8'));
  expect(path.resolve(person.metaCheckpoint.path)).toBe(SHIPPED_MODEL_DIR);
  // One photo fine-tunes at its own rates; eight shots at the meta run's.
  const mona = JSON.parse(fs.readFileSync(path.join(files.mona, 'person.json'), 'utf8'));
  expect(mona.finetune.lrGenerator).toBe(DEMO_SETTINGS.oneShotRates.generator);
  expect(mona.finetune.lrDiscriminator).toBe(DEMO_SETTINGS.oneShotRates.discriminator);
  expect(person.finetune.lrGenerator).toBe(2e-4);
  const strip = await sharp(files.strip).metadata();
  expect([strip.width, strip.height]).toEqual([6 * 128 * 2, 3 * 128 * 2]);
  const heldout = DatasetStore.open(files.heldoutStore);
  try {
    expect(heldout.index().videos).toHaveLength(2);
  } finally {
    await heldout.close();
  }
  expect(run.text.stdout).toContain(`meta-learned model        ${SHIPPED_MODEL_DIR}`);
}, 300_000);

test('the demo command refuses a bad --minutes and a used --out in one line', async () => {
  expectUserError(
    await capture((io) => runCli(['demo', '--minutes', '0'], io)),
    /--minutes must be a positive number$/,
  );
  expectUserError(
    await capture((io) => runCli(['demo', '--minutes', '3'], io)),
    /--minutes sets meta-learning time: give it with --from-scratch$/,
  );
  const used = path.join(dir, 'used');
  fs.mkdirSync(used);
  fs.writeFileSync(path.join(used, 'keep.txt'), 'mine');
  expectUserError(
    await capture((io) => runCli(['demo', '--out', used], io)),
    /used: not empty; give --resume to continue the demo there, or another --out$/,
  );
  expect(fs.readFileSync(path.join(used, 'keep.txt'), 'utf8')).toBe('mine');
  expectUserError(
    await capture((io) => runCli(['demo', '--out', path.join(dir, 'none'), '--resume'], io)),
    /none: no demo to resume here \(no demo\.json\)$/,
  );
});
