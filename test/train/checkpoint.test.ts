import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/select';
import { UserError } from '../../src/errors';
import { readSafetensorsFile } from '../../src/formats/safetensors';
import { collectWeights } from '../../src/models/weights';
import {
  listCheckpoints,
  loadCheckpoint,
  saveCheckpoint,
  type CheckpointState,
  type CheckpointTarget,
} from '../../src/train/checkpoint';
import {
  SMALL_CONFIG,
  buildRun,
  disposeRun,
  engineVariable,
  trainStep,
  type SmallRun,
} from './fixtures/smallRun';

const ROOT = path.resolve(__dirname, '../..');
const CHILD = path.join(__dirname, 'fixtures', 'saveCheckpointChild.ts');
const CONFIG_TEXT = 'model:\n  preset: tiny\n  baseWidth: 4\n';
const RNG = { sampler: 123456789, synth: [1, 2, 3] };

let scratch: string;

beforeAll(async () => {
  // wasm: a training step of the small networks takes ~0.5 s there, ~20 s on the cpu backend.
  await initBackend({ backend: 'wasm' });
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'checkpoint-test-'));
});

afterAll(() => {
  fs.rmSync(scratch, { recursive: true, force: true });
});

function freshDir(name: string): string {
  const dir = path.join(scratch, name);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

function state(run: SmallRun, step: number): CheckpointState {
  return { step, modules: run.modules, optimizers: run.optimizers, rng: RNG, config: CONFIG_TEXT };
}

function bytesOf(t: tf.Tensor): Buffer {
  const data = t.dataSync();
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** Every weight and every optimizer value (slots, iterations, Adam's beta powers) as bytes. */
async function snapshot(run: SmallRun): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const [name, w] of collectWeights(run.modules)) out.set(name, bytesOf(w.read()));
  for (const [key, { optimizer, variables }] of Object.entries(run.optimizers)) {
    const stable = new Map([...variables].map(([n, v]) => [engineVariable(v).name, n]));
    const [iterations, ...slots] = await optimizer.getWeights();
    out.set(`${key}.iterations`, bytesOf(iterations!.tensor));
    iterations!.tensor.dispose();
    slots.forEach(({ name, tensor }, i) => {
      const slash = name.lastIndexOf('/');
      // The position is part of the state: tfjs pairs slots with gradients by position.
      out.set(
        `${key}.${i}:${stable.get(name.slice(0, slash))}${name.slice(slash)}`,
        bytesOf(tensor),
      );
    });
    const fields = optimizer as unknown as Record<string, tf.Tensor>;
    for (const power of ['accBeta1', 'accBeta2'])
      out.set(`${key}.${power}`, bytesOf(fields[power]!));
  }
  return out;
}

function differences(a: Map<string, Buffer>, b: Map<string, Buffer>): string[] {
  const names = new Set([...a.keys(), ...b.keys()]);
  return [...names].filter((n) => !a.get(n) || !b.get(n) || !a.get(n)!.equals(b.get(n)!));
}

async function loadError(dir: string, run: CheckpointTarget): Promise<UserError> {
  try {
    await loadCheckpoint(dir, run);
  } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).not.toContain('\n');
    return err as UserError;
  }
  throw new Error(`loading ${dir} succeeded`);
}

describe('round trip', () => {
  test('weights and optimizer state come back bit-identical and training continues exactly', async () => {
    const runDir = freshDir('roundtrip');
    const a = buildRun();
    trainStep(a, 1);
    trainStep(a, 2);
    // Extra state of the caller's own, such as a hand-written optimizer's moments.
    const moments = tf.variable(
      tf.randomNormal([SMALL_CONFIG.embeddingSize, 3], 0, 1, 'float32', 5),
    );
    await saveCheckpoint(runDir, { ...state(a, 2), extra: { 'W.m': moments } }, { keep: 3 });

    const b = buildRun(); // fresh variables: other tfjs names, untrained, no optimizer slots
    const restoredMoments = tf.variable(tf.zeros(moments.shape));
    const loaded = await loadCheckpoint(runDir, { ...b, extra: { 'W.m': restoredMoments } });
    expect(bytesOf(restoredMoments).equals(bytesOf(moments))).toBe(true);
    expect(loaded.step).toBe(2);
    expect(loaded.rng).toEqual(RNG);
    expect(loaded.config).toBe(CONFIG_TEXT);
    expect(Date.parse(loaded.createdAt)).not.toBeNaN();

    const before = await snapshot(a);
    // Both Adams hold m and v for each of their variables, plus the counters.
    const slots = Object.values(a.optimizers).reduce((n, o) => n + 2 * o.variables.size, 0);
    expect(before.size).toBe(collectWeights(a.modules).size + slots + 3 * 2);
    expect(differences(before, await snapshot(b))).toEqual([]);
    // Loading again replaces the optimizer state without leaking the old slots.
    const tensors = tf.memory().numTensors;
    await loadCheckpoint(runDir, { ...b, extra: { 'W.m': restoredMoments } });
    expect(tf.memory().numTensors).toBe(tensors);
    await saveCheckpoint(runDir, state(b, 2), { keep: 3 });
    expect(tf.memory().numTensors).toBe(tensors);
    // That last save has no extra state: what is saved must be what is asked for, both ways.
    expect((await loadError(runDir, { ...b, extra: { 'W.m': restoredMoments } })).message).toMatch(
      /optimizers\.safetensors: missing tensor 'extra\.W\.m'/,
    );
    const withExtra = path.join(runDir, 'checkpoints', 'step-000000002');
    expect((await loadError(withExtra, b)).message).toMatch(
      /optimizers\.safetensors: unexpected tensor 'extra\.W\.m'/,
    );
    await loadCheckpoint(runDir, b);

    trainStep(a, 3);
    trainStep(b, 3);
    const after = await snapshot(a);
    expect(differences(after, await snapshot(b))).toEqual([]);
    // The step did move the weights, so the comparison above compares something.
    expect(after.get('generator.outConv.kernel')).not.toEqual(
      before.get('generator.outConv.kernel'),
    );
    tf.dispose([moments, restoredMoments]);
    disposeRun(a);
    disposeRun(b);
  });

  test("tfjs's own Adam setWeights recomputes the beta powers inexactly (why they are saved)", async () => {
    const v = tf.variable(tf.tensor1d([1, 2, 3]));
    const trained = tf.train.adam(0.01, 0.5, 0.999);
    for (let i = 0; i < 2; i++) trained.minimize(() => tf.sum(tf.square(v)), false, [v]);
    const restored = tf.train.adam(0.01, 0.5, 0.999);
    const weights = await trained.getWeights();
    await restored.setWeights(weights);
    weights[0]!.tensor.dispose();
    // beta2^3 as pow() gives it is not the running product 0.999 * 0.999 * 0.999 in float32.
    const power = (o: tf.Optimizer) => bytesOf((o as unknown as { accBeta2: tf.Tensor }).accBeta2);
    expect(power(restored).equals(power(trained))).toBe(false);
    trained.dispose();
    restored.dispose();
    v.dispose();
  });
});

describe('layout, latest and pruning', () => {
  test('keeps the last M checkpoints and points latest at the newest', async () => {
    const runDir = freshDir('prune');
    const run = buildRun();
    for (const step of [100, 200, 300, 400])
      await saveCheckpoint(runDir, state(run, step), { keep: 2 });
    const root = path.join(runDir, 'checkpoints');
    expect(fs.readdirSync(root).sort()).toEqual(['latest', 'step-000000300', 'step-000000400']);
    expect(fs.readFileSync(path.join(root, 'latest'), 'utf8').trim()).toBe('step-000000400');
    expect((await listCheckpoints(runDir)).map((c) => c.step)).toEqual([300, 400]);
    const dir = path.join(root, 'step-000000400');
    expect(fs.readdirSync(dir).sort()).toEqual([
      'manifest.json',
      'model.safetensors',
      'optimizers.safetensors',
    ]);
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({ format: 1, step: 400, rng: RNG, config: CONFIG_TEXT });
    expect(manifest.files['model.safetensors']).toEqual({
      bytes: fs.statSync(path.join(dir, 'model.safetensors')).size,
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    const optimizers = await readSafetensorsFile(path.join(dir, 'optimizers.safetensors'));
    expect(Object.keys(optimizers.tensors).sort()).toEqual([
      'optimizer.discriminator.accBeta1',
      'optimizer.discriminator.accBeta2',
      'optimizer.discriminator.iterations',
      'optimizer.generator.accBeta1',
      'optimizer.generator.accBeta2',
      'optimizer.generator.iterations',
    ]);

    expect((await loadCheckpoint(runDir, run)).step).toBe(400);
    expect((await loadCheckpoint(path.join(root, 'step-000000300'), run)).step).toBe(300);

    // Saving a step that exists (resumed, then saved at once) keeps both; the new one is latest.
    await saveCheckpoint(runDir, state(run, 400), { keep: 2 });
    expect((await listCheckpoints(runDir)).map((c) => c.name)).toEqual([
      'step-000000400',
      'step-000000400.1',
    ]);
    expect(fs.readFileSync(path.join(root, 'latest'), 'utf8').trim()).toBe('step-000000400.1');
    // An older step saved last (a run resumed from an older checkpoint) is never pruned.
    await saveCheckpoint(runDir, state(run, 50), { keep: 1 });
    expect((await listCheckpoints(runDir)).map((c) => c.name)).toEqual([
      'step-000000050',
      'step-000000400.1',
    ]);
    expect((await loadCheckpoint(runDir, run)).step).toBe(50);
    disposeRun(run);
  });

  test('slots are named after the stable weight names', async () => {
    const runDir = freshDir('names');
    const run = buildRun();
    trainStep(run, 1);
    const { dir } = await saveCheckpoint(runDir, state(run, 1), { keep: 1 });
    const { tensors, metadata } = await readSafetensorsFile(
      path.join(dir, 'optimizers.safetensors'),
    );
    expect(tensors['optimizer.generator.generator.outConv.kernel/m']!.shape).toEqual(
      run.G.namedWeights().get('outConv.kernel')!.shape,
    );
    expect(tensors['optimizer.discriminator.discriminator.W/v']!.shape).toEqual([
      SMALL_CONFIG.embeddingSize,
      3,
    ]);
    expect(Array.from(tensors['optimizer.generator.iterations']!.data as Int32Array)).toEqual([1]);
    expect(metadata['optimizer.generator.class']).toBe('Adam');
    const order = JSON.parse(metadata['optimizer.generator.slots']!) as string[];
    const names = [...run.optimizers.generator!.variables.keys()];
    expect(order).toEqual([...names.map((n) => `${n}/m`), ...names.map((n) => `${n}/v`)]);
    disposeRun(run);
  });
});

describe('kill -9 during a save', () => {
  interface Outcome {
    signal: NodeJS.Signals | null;
    stages: string[];
  }

  /** Runs the child that resumes runDir and saves step 200; kills it at `stopAt` or `when`. */
  function runChild(runDir: string, stopAt?: string, when?: () => boolean): Promise<Outcome> {
    const args = ['--import', 'tsx', CHILD, runDir, '200', ...(stopAt ? [stopAt] : [])];
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const stages: string[] = [];
    let stderr = '';
    let buffered = '';
    let poll: NodeJS.Timeout | undefined;
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      buffered += d.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        stages.push(line);
        if (line === stopAt) child.kill('SIGKILL');
        if (line === 'ready' && when)
          poll = setInterval(() => {
            if (when()) child.kill('SIGKILL');
          }, 0);
      }
    });
    return new Promise((resolve, reject) => {
      child.on('error', reject);
      child.on('exit', (code, signal) => {
        clearInterval(poll);
        if (signal == null && code !== 0) reject(new Error(`child failed: ${stderr}`));
        else resolve({ signal, stages });
      });
    });
  }

  let base: string;

  beforeAll(async () => {
    base = freshDir('crash-base');
    const run = buildRun();
    trainStep(run, 1);
    await saveCheckpoint(base, state(run, 100), { keep: 10 });
    disposeRun(run);
  });

  function copyOfBase(name: string): string {
    const dir = path.join(scratch, name);
    fs.cpSync(base, dir, { recursive: true });
    return dir;
  }

  test('leaves the previous checkpoint loadable at every stage; the next save cleans up', async () => {
    const cases = [
      { stopAt: 'started', expected: 100 }, // the temporary directory was just made
      { stopAt: 'staged', expected: 100 }, // complete but not renamed into place
      { stopAt: 'committed', expected: 100 }, // renamed, latest not yet updated
      { stopAt: 'published', expected: 200 }, // latest updated, old ones not yet pruned
    ];
    const dirs = cases.map(({ stopAt }) => copyOfBase(`crash-${stopAt}`));
    const timed = copyOfBase('crash-timed');
    const tmpExists = () =>
      fs.readdirSync(path.join(timed, 'checkpoints')).some((n) => n.startsWith('.tmp-step'));
    const outcomes = await Promise.all([
      ...cases.map(({ stopAt }, i) => runChild(dirs[i]!, stopAt)),
      runChild(timed, undefined, tmpExists),
    ]);

    const run = buildRun();
    for (const [i, { stopAt, expected }] of cases.entries()) {
      const { signal, stages } = outcomes[i]!;
      expect(signal).toBe('SIGKILL');
      expect(stages[stages.length - 1]).toBe(stopAt);
      const runDir = dirs[i]!;
      const loaded = await loadCheckpoint(runDir, run);
      expect(loaded.step).toBe(expected);
      expect(loaded.rng).toEqual(RNG);
      const names = fs.readdirSync(path.join(runDir, 'checkpoints'));
      if (stopAt === 'started' || stopAt === 'staged')
        expect(names.filter((n) => n.startsWith('.tmp-'))).toHaveLength(1);
      // A checkpoint renamed into place is complete even though latest does not name it yet.
      if (stopAt === 'committed')
        expect(
          (await loadCheckpoint(path.join(runDir, 'checkpoints/step-000000200'), run)).step,
        ).toBe(200);

      await saveCheckpoint(runDir, state(run, 300), { keep: 10 });
      const after = fs.readdirSync(path.join(runDir, 'checkpoints'));
      expect(after.filter((n) => n.startsWith('.tmp-'))).toEqual([]);
      expect((await loadCheckpoint(runDir, run)).step).toBe(300);
    }

    // Killed as soon as its temporary directory appeared, wherever the save had got to.
    const { signal } = outcomes[cases.length]!;
    const loaded = await loadCheckpoint(timed, run);
    expect(signal === 'SIGKILL' ? [100, 200] : [200]).toContain(loaded.step);
    disposeRun(run);
  });
});

describe('damaged checkpoints', () => {
  let base: string;
  let run: SmallRun;

  beforeAll(async () => {
    base = freshDir('damage-base');
    run = buildRun();
    await saveCheckpoint(base, state(run, 7), { keep: 1 });
  });

  afterAll(() => disposeRun(run));

  function damaged(name: string, damage: (dir: string) => void): string {
    const runDir = path.join(scratch, name);
    fs.cpSync(base, runDir, { recursive: true });
    damage(path.join(runDir, 'checkpoints', 'step-000000007'));
    return runDir;
  }

  test('a truncated model.safetensors', async () => {
    const runDir = damaged('truncated', (dir) => {
      const file = path.join(dir, 'model.safetensors');
      fs.truncateSync(file, Math.floor(fs.statSync(file).size / 2));
    });
    const err = await loadError(runDir, run);
    expect(err.message).toMatch(
      /step-000000007[/\\]model\.safetensors: \d+ bytes, the manifest records \d+/,
    );
  });

  test('a corrupted model.safetensors', async () => {
    const runDir = damaged('corrupted', (dir) => {
      const file = path.join(dir, 'model.safetensors');
      const bytes = fs.readFileSync(file);
      bytes[bytes.length - 5]! ^= 0x40;
      fs.writeFileSync(file, bytes);
    });
    const err = await loadError(runDir, run);
    expect(err.message).toMatch(/model\.safetensors: contents do not match the manifest's SHA-256/);
  });

  test('a missing manifest', async () => {
    const runDir = damaged('no-manifest', (dir) => fs.rmSync(path.join(dir, 'manifest.json')));
    const err = await loadError(runDir, run);
    expect(err.message).toMatch(/step-000000007[/\\]manifest\.json: no such file/);
    // Given the checkpoint directory itself, the same.
    const direct = await loadError(path.join(runDir, 'checkpoints', 'step-000000007'), run);
    expect(direct.message).toMatch(/manifest\.json: no such file/);
  });

  test('a manifest of another format', async () => {
    const runDir = damaged('format', (dir) => {
      const file = path.join(dir, 'manifest.json');
      const manifest = JSON.parse(fs.readFileSync(file, 'utf8'));
      fs.writeFileSync(file, JSON.stringify({ ...manifest, format: 2 }));
    });
    const err = await loadError(runDir, run);
    expect(err.message).toMatch(
      /manifest\.json: checkpoint format 2, this version reads format 1$/,
    );
  });

  test('a run directory without checkpoints, and latest naming something else', async () => {
    const empty = freshDir('empty-run');
    expect((await loadError(empty, run)).message).toMatch(/empty-run[/\\]manifest\.json/);
    fs.mkdirSync(path.join(empty, 'checkpoints'));
    expect(await listCheckpoints(empty)).toEqual([]);
    expect((await loadError(empty, run)).message).toMatch(/checkpoints[/\\]latest: no such file/);
    fs.writeFileSync(path.join(empty, 'checkpoints', 'latest'), '../../etc\n');
    expect((await loadError(empty, run)).message).toMatch(/latest: names '\.\.\/\.\.\/etc'/);
  });

  test('a checkpoint of another model config names the first mismatching tensor', async () => {
    const other = buildRun({ ...SMALL_CONFIG, embeddingSize: 16 });
    const file = path.join(base, 'checkpoints', 'step-000000007', 'model.safetensors');
    const { tensors } = await readSafetensorsFile(file);
    const first = [...collectWeights(other.modules)].find(
      ([name, w]) => tensors[name]!.shape.join() !== w.shape.join(),
    )![0];
    const err = await loadError(base, other);
    expect(err.message).toContain(`model.safetensors: tensor '${first}' has shape`);
    disposeRun(other);
  });
});
