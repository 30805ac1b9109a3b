import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/select';
import { runCli } from '../../src/cli/main';
import { STORE_FORMAT } from '../../src/data/store/schema';
import { DatasetStore } from '../../src/data/store/store';
import { UserError } from '../../src/errors';
import { silentLogger } from '../../src/log';
import { collectWeights } from '../../src/models/weights';
import { listCheckpoints } from '../../src/train/checkpoint';
import { parseTrainConfig, type TrainConfig } from '../../src/train/config';
import { resolvedConfigYaml } from '../../src/train/loadConfig';
import { readEventFile, type ScalarEvent } from '../../src/train/tensorboard/eventReader';
import { trainMeta, type TrainMetaOptions } from '../../src/train/trainMeta';
import { capture, lines } from '../cli/helpers';
import { makeTestStore } from '../helpers/testStore';
import { openMetaCheckpoint } from '../../src/train/metaCheckpoint';

const ROOT = path.join(__dirname, '..', '..');

let dir: string;
let store: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'th-train-'));
  store = await makeTestStore(dir, { size: 64, videos: 4, frames: 6 });
}, 60_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A narrow 64 px model without a content backbone: a step takes well under a second. */
function config(overrides: { steps: number; [key: string]: unknown }): TrainConfig {
  return parseTrainConfig(
    {
      model: {
        preset: 'tiny',
        baseWidth: 4,
        maxWidth: 8,
        embeddingSize: 8,
        residualBlocks: 1,
        generatorFirstKernel: 3,
      },
      data: { k: 2, heldoutFraction: 0, heldoutFrames: 1, prefetch: 1 },
      train: { batchSize: 1, steps: overrides.steps, dStepsPerGStep: 1, seed: 3 },
      loss: { faceapi: 0 },
      log: {
        scalarsEvery: 1,
        imagesEvery: 3,
        checkpointEvery: 3,
        keepCheckpoints: 2,
        evalEvery: 3,
        evalBatches: 1,
      },
    },
    'test config',
  );
}

function run(runDir: string, trainConfig: TrainConfig, extra: Partial<TrainMetaOptions> = {}) {
  return trainMeta({
    config: trainConfig,
    configYaml: resolvedConfigYaml(trainConfig),
    store,
    runDir,
    resume: false,
    log: silentLogger(),
    ...extra,
  });
}

async function scalars(runDir: string): Promise<ScalarEvent[]> {
  const files = fs.readdirSync(runDir).filter((f) => f.startsWith('events.out.tfevents.'));
  const events = (await Promise.all(files.map((f) => readEventFile(path.join(runDir, f))))).flat();
  return events.filter((e): e is ScalarEvent => e.kind === 'scalar');
}

const lossesAt = (events: ScalarEvent[], step: number) =>
  Object.fromEntries(
    events.filter((e) => e.step === step && e.tag.startsWith('loss/')).map((e) => [e.tag, e.value]),
  );

describe('on the cpu backend', () => {
  beforeAll(async () => {
    await initBackend({ backend: 'cpu' });
  });

  test('6 steps straight and 3 + resume + 3 give the same losses', async () => {
    const straight = path.join(dir, 'straight');
    const split = path.join(dir, 'split');
    await run(straight, config({ steps: 6 }));
    const first = await run(split, config({ steps: 3 }));
    expect(first.step).toBe(3);
    const resumed = await run(split, config({ steps: 6 }), { resume: true });
    expect(resumed.startStep).toBe(3);
    expect(resumed.step).toBe(6);
    const a = await scalars(straight);
    const b = await scalars(split);
    for (const step of [4, 5, 6]) {
      const want = lossesAt(a, step);
      const got = lossesAt(b, step);
      expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
      for (const [tag, value] of Object.entries(want))
        expect(Math.abs(got[tag]! - value)).toBeLessThan(1e-5);
    }
  }, 600_000);
});

describe('on the wasm backend', () => {
  beforeAll(async () => {
    await initBackend({ backend: 'wasm' });
  });

  test('a run logs every term, scores, norms, rates, speed, held-out L1 and sample grids', async () => {
    const runDir = path.join(dir, 'logged');
    await run(runDir, config({ steps: 6 }));
    const files = fs.readdirSync(runDir).filter((f) => f.startsWith('events.out.tfevents.'));
    const events = await readEventFile(path.join(runDir, files[0]!));
    const tags = new Set(events.flatMap((e) => (e.kind === 'fileVersion' ? [] : [e.tag])));
    for (const tag of [
      'loss/discriminator',
      'loss/content',
      'loss/adversarial',
      'loss/featureMatching',
      'loss/embeddingMatch',
      'loss/total',
      'score/real',
      'score/fake',
      'grad_norm/embedder',
      'grad_norm/generator',
      'grad_norm/discriminator',
      'grad_norm/w',
      'lr/embedder_generator',
      'lr/discriminator',
      'perf/steps_per_second',
      'eval/l1_heldout_frames',
      'samples/landmarks_real_generated',
    ])
      expect(tags).toContain(tag);
    const image = events.find((e) => e.kind === 'image')!;
    expect(image).toMatchObject({ step: 3 });
    // Checkpoints every 3 steps, the last 2 kept.
    expect((await listCheckpoints(runDir)).map((c) => c.step)).toEqual([3, 6]);
    expect(fs.readFileSync(path.join(runDir, 'config.yaml'), 'utf8')).toContain('steps: 6');
  }, 120_000);

  test('the tensor count is flat over 50 steps', async () => {
    const counts: number[] = [];
    const runDir = path.join(dir, 'memory');
    const trainConfig = config({ steps: 50 });
    const options = {
      ...trainConfig,
      log: {
        ...trainConfig.log,
        scalarsEvery: 10,
        imagesEvery: 10,
        evalEvery: 10,
        checkpointEvery: 25,
      },
    };
    let stepCount = 0;
    await run(runDir, options, {
      progress: () => ({
        increment: () => {
          stepCount++;
          counts.push(tf.memory().numTensors);
        },
        update: () => undefined,
        stop: () => undefined,
      }),
    });
    expect(stepCount).toBe(50);
    expect(Math.max(...counts.slice(1))).toBe(Math.min(...counts.slice(1)));
  }, 300_000);

  test('non-finite steps in a row stop the run by name, the last good checkpoint intact', async () => {
    const runDir = path.join(dir, 'nonfinite');
    await run(runDir, config({ steps: 3 }));
    const poisonedConfig = config({ steps: 12 });
    poisonedConfig.train.maxNonFiniteSteps = 4;
    const poisoned = run(runDir, poisonedConfig, {
      resume: true,
      onNetworksReady: ({ discriminator }) => {
        const b = collectWeights({ discriminator }).get('discriminator.b')!;
        b.write(tf.fill(b.shape as number[], NaN));
      },
    });
    await expect(poisoned).rejects.toThrow(UserError);
    // A NaN bias in D: the step's E+G update, first, meets it in L_ADV.
    await expect(poisoned).rejects.toThrow(
      /stopped at step 7: 4 steps in a row had a non-finite loss \(last: adversarial\)/,
    );
    expect((await listCheckpoints(runDir)).map((c) => c.step)).toEqual([3]);
  }, 120_000);

  test('a store of larger frames trains the model at its own size, and frames new faces so', async () => {
    const big = await makeTestStore(dir, { size: 128, videos: 4, frames: 6 });
    const runDir = path.join(dir, 'from-128');
    const summary = await run(runDir, config({ steps: 3 }), { store: big });
    expect(summary.step).toBe(3);
    expect(Number.isFinite(summary.lastHeldoutL1)).toBe(true);
    expect((await openMetaCheckpoint(runDir)).framing.size).toBe(64);
  }, 120_000);

  test("refuses an image size larger than the store's, and a used run directory without --resume", async () => {
    const bigger = parseTrainConfig(
      {
        ...JSON.parse(JSON.stringify(config({ steps: 1 }))),
        model: { preset: 'tiny', imageSize: 128 },
      },
      'x',
    );
    await expect(run(path.join(dir, 'size'), bigger)).rejects.toThrow(
      /frames are 64 px, smaller than the config's model.imageSize \(128 px\)/,
    );
    await expect(run(path.join(dir, 'logged'), config({ steps: 6 }))).rejects.toThrow(
      /already holds checkpoints; pass --resume/,
    );
    await expect(
      run(path.join(dir, 'fresh'), config({ steps: 1 }), { resume: true }),
    ).rejects.toThrow(/no checkpoint to resume from/);
  });
});

describe('the train-meta command', () => {
  test('a mistyped config key is one line naming it, exit 2', async () => {
    const result = await capture((io) =>
      runCli(['train-meta', '--config', 'tiny', '--data', store, '--set', 'train.batchSzie=2'], io),
    );
    expect(result.code).toBe(2);
    expect(lines(result.stderr)).toHaveLength(1);
    expect(result.stderr).toMatch(
      /^talking-heads: .*configs\/tiny\.yaml: unknown key 'train\.batchSzie'; did you mean 'train\.batchSize'\?\n$/,
    );
  });

  test('an empty store is refused', async () => {
    const empty = path.join(dir, 'empty-store');
    const writer = await DatasetStore.create(empty, {
      format: STORE_FORMAT,
      producer: 'synth',
      size: 64,
      framesPerVideo: 4,
      jpegQuality: 90,
      crop: { scale: 1.8, offsetY: -0.1 },
    });
    await writer.finalise();
    await writer.close();
    const result = await capture((io) =>
      runCli(
        [
          '--backend',
          'wasm',
          'train-meta',
          '--config',
          'tiny',
          '--data',
          empty,
          '--out',
          path.join(dir, 'e'),
        ],
        io,
      ),
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/empty-store: the store holds no videos\n$/);
  });

  test('--minutes stops at the first step past the time, saves it and says so', async () => {
    const runDir = path.join(dir, 'timed');
    const yaml = path.join(dir, 'timed.yaml');
    fs.writeFileSync(yaml, resolvedConfigYaml(config({ steps: 1000 })));
    const argv = ['--backend', 'wasm', 'train-meta', '--config', yaml, '--data', store];
    const result = await capture((io) =>
      runCli([...argv, '--out', runDir, '--minutes', '0.0001'], io),
    );
    expect(result.code).toBe(0);
    const match = /^stopped after 0\.0001 min at step (\d+) /.exec(result.stdout);
    expect(match).not.toBeNull();
    const step = Number(match![1]);
    // 6 ms: at most a step or two, far from train.steps.
    expect(step).toBeGreaterThanOrEqual(1);
    expect(step).toBeLessThan(10);
    expect((await listCheckpoints(runDir)).map((c) => c.step)).toEqual([step]);
    const bad = await capture((io) => runCli([...argv, '--minutes', '0'], io));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('talking-heads: --minutes must be a positive number\n');
  }, 120_000);

  test('SIGINT saves a checkpoint at the step reached and exits 130; --resume continues from it', async () => {
    const runDir = path.join(dir, 'interrupted');
    const yaml = path.join(dir, 'small.yaml');
    fs.writeFileSync(yaml, resolvedConfigYaml(config({ steps: 1000 })));
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(ROOT, 'test/helpers/cliMain.ts'),
        '--backend',
        'wasm',
        'train-meta',
        '--config',
        yaml,
        '--data',
        store,
        '--out',
        runDir,
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] },
    );
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    // Interrupt once the first checkpoint (step 3) is in place.
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline && (await listCheckpoints(runDir)).length === 0)
      await new Promise((r) => setTimeout(r, 200));
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    const match = /^interrupted at step (\d+)/.exec(stdout);
    expect(match).not.toBeNull();
    const stoppedAt = Number(match![1]);
    expect((await listCheckpoints(runDir)).map((c) => c.step)).toContain(stoppedAt);
    const resumed = await run(runDir, config({ steps: stoppedAt + 1 }), { resume: true });
    expect(resumed).toMatchObject({ startStep: stoppedAt, step: stoppedAt + 1 });
  }, 180_000);
});
