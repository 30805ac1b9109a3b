/**
 * @jest-environment ./test/helpers/hostTypedArraysEnvironment.js
 */
import * as tf from '@tensorflow/tfjs';
import { ADAM_UPDATE } from '../../src/backend/kernels/adamUpdate';
import { LEAKY_RELU_GRAD } from '../../src/backend/kernels/leakyReluGrad';
import { RANK_ONE_UPDATE } from '../../src/backend/kernels/rankOneUpdate';
import { initBackend } from '../../src/backend/select';
import { runCli } from '../../src/cli/main';
import type { EpisodeBatch } from '../../src/data/episodes/sampler';
import { PAPER_LOSS_WEIGHTS } from '../../src/losses/lossWeights';
import { TINY_PRESET, type ModelConfig } from '../../src/models/config';
import { Discriminator } from '../../src/models/discriminator';
import { Embedder } from '../../src/models/embedder';
import { Generator } from '../../src/models/generator';
import { SNConv2D } from '../../src/models/layers/snConv2d';
import { adamOptimizer } from '../../src/ops/adam';
import { convWithBias } from '../../src/ops/convWithBias';
import { divideBySigma } from '../../src/ops/divideBySigma';
import { leakyRelu } from '../../src/ops/leakyRelu';
import {
  REFERENCE_OPS_ENV_VAR,
  referenceOps,
  referenceOpsFromEnv,
  setReferenceOps,
} from '../../src/ops/opsMode';
import { dotProduct, rankOneUpdate } from '../../src/ops/rankOneUpdate';
import { MetaLearner, type MetaStepResult } from '../../src/train/metaStep';
import { capture } from '../cli/helpers';
import { relativeError, seededTensor, seededValues } from '../helpers/compare';

// With the switch on, every op of src/ops runs its plain tfjs version: each op's values and
// gradients, and a whole meta-learning step, must come out as with the fast versions.

const BACKENDS = ['cpu', 'native'] as const;

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
  await initBackend({ backend: 'native', threads: 1 });
});

afterEach(() => setReferenceOps(false));

afterAll(async () => {
  await tf.setBackend('cpu');
});

/** compute()'s outputs with the switch off, then on, and the kernels each ran. */
async function fastAndReference(backend: string, compute: () => tf.Tensor[]) {
  await tf.setBackend(backend);
  const run = async (on: boolean) => {
    setReferenceOps(on);
    const profile = await tf.profile(() => tf.tidy(compute));
    const outputs = profile.result as tf.Tensor[];
    const values = outputs.map((t) => Float32Array.from(t.dataSync()));
    tf.dispose(outputs);
    return { values, kernels: new Set(profile.kernels.map((k) => k.name)) };
  };
  const fast = await run(false);
  const reference = await run(true);
  setReferenceOps(false);
  expect(reference.values).toHaveLength(fast.values.length);
  return { fast, reference };
}

function expectClose(got: Float32Array[], want: Float32Array[], tolerance: number): void {
  got.forEach((values, i) => expect(relativeError(values, want[i]!)).toBeLessThan(tolerance));
}

describe('the switch', () => {
  test('the environment variable: 1 on, 0 or unset off, anything else an error', () => {
    expect(referenceOpsFromEnv({})).toBe(false);
    expect(referenceOpsFromEnv({ [REFERENCE_OPS_ENV_VAR]: '0' })).toBe(false);
    expect(referenceOpsFromEnv({ [REFERENCE_OPS_ENV_VAR]: '1' })).toBe(true);
    expect(() => referenceOpsFromEnv({ [REFERENCE_OPS_ENV_VAR]: 'yes' })).toThrow(
      REFERENCE_OPS_ENV_VAR,
    );
  });

  test('--reference-ops turns it on for the command; a bad variable is a usage error', async () => {
    const cli = (...argv: string[]) => capture((io) => runCli(argv, io));
    expect((await cli('backends', '--json', '--reference-ops')).code).toBe(0);
    expect(referenceOps()).toBe(true);
    expect((await cli('backends', '--json')).code).toBe(0);
    expect(referenceOps()).toBe(false);
    const saved = process.env[REFERENCE_OPS_ENV_VAR];
    process.env[REFERENCE_OPS_ENV_VAR] = 'on';
    try {
      const result = await cli('backends', '--json');
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`$${REFERENCE_OPS_ENV_VAR}`);
    } finally {
      if (saved === undefined) delete process.env[REFERENCE_OPS_ENV_VAR];
      else process.env[REFERENCE_OPS_ENV_VAR] = saved;
    }
  });
});

describe.each(BACKENDS)('fast and reference ops agree on %s', (backend) => {
  const native = backend === 'native';

  test('divideBySigma: values and gradient', async () => {
    const w = seededTensor([3, 3, 6, 5], 1);
    const r = seededTensor([3, 3, 6, 5], 2);
    const unit = (t: tf.Tensor) => tf.div(t, tf.norm(t));
    const u = unit(seededTensor([5, 1], 3)) as tf.Tensor2D;
    const v = unit(seededTensor([54, 1], 4)) as tf.Tensor2D;
    const sigma = tf.sum(tf.mul(v, tf.matMul(tf.reshape(w, [-1, 5]), u))) as tf.Scalar;
    const { fast, reference } = await fastAndReference(backend, () => [
      divideBySigma(w, u, v, sigma),
      tf.grad((t: tf.Tensor) => tf.sum(tf.mul(divideBySigma(t, u, v, sigma), r)))(w),
    ]);
    expectClose(fast.values, reference.values, 1e-5);
    expect(reference.kernels.has(RANK_ONE_UPDATE)).toBe(false);
    if (native) expect(fast.kernels.has(RANK_ONE_UPDATE)).toBe(true);
  });

  test('convWithBias: values and the gradients of x, filter and bias', async () => {
    const x = seededTensor([2, 9, 8, 5], 5) as tf.Tensor4D;
    const w = seededTensor([3, 3, 5, 7], 6) as tf.Tensor4D;
    const b = seededTensor([7], 7) as tf.Tensor1D;
    const r = seededTensor([2, 9, 8, 7], 8);
    const conv = (a: tf.Tensor, k: tf.Tensor, c: tf.Tensor) =>
      convWithBias(a as tf.Tensor4D, k as tf.Tensor4D, c as tf.Tensor1D);
    const { fast, reference } = await fastAndReference(backend, () => [
      conv(x, w, b),
      ...tf.grads((a: tf.Tensor, k: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(conv(a, k, c), r)))([
        x,
        w,
        b,
      ]),
    ]);
    expectClose(fast.values, reference.values, 1e-5);
    expect(fast.kernels.has('FusedConv2D')).toBe(true);
    expect(reference.kernels.has('FusedConv2D')).toBe(false);
    expect(reference.kernels.has('Conv2D')).toBe(true);
  });

  test('rankOneUpdate (with and without b) and dotProduct: values', async () => {
    const x = seededTensor([4, 3, 5], 9);
    const p = seededTensor([12], 10);
    const q = seededTensor([5], 11);
    const { fast, reference } = await fastAndReference(backend, () => [
      rankOneUpdate(x, p, q, tf.scalar(1.3), tf.scalar(-0.7)),
      rankOneUpdate(x, p, q, tf.scalar(1.3)),
      dotProduct(x, seededTensor([4, 3, 5], 12)),
    ]);
    expectClose(fast.values, reference.values, 1e-6);
    expect(reference.kernels.has(RANK_ONE_UPDATE)).toBe(false);
    if (native) expect(fast.kernels.has(RANK_ONE_UPDATE)).toBe(true);
  });

  test('leakyRelu: values and gradient', async () => {
    // Exact zeros too: both gradients take alpha there.
    const x = tf.div(tf.round(tf.mul(seededTensor([2, 20, 20, 8], 13), 4)), 4);
    const r = seededTensor([2, 20, 20, 8], 14);
    const { fast, reference } = await fastAndReference(backend, () => [
      leakyRelu(x, 0.2),
      tf.grad((t: tf.Tensor) => tf.sum(tf.mul(leakyRelu(t, 0.2), r)))(x),
    ]);
    fast.values.forEach((values, i) =>
      expect(Array.from(values)).toEqual(Array.from(reference.values[i]!)),
    );
    expect(reference.kernels.has(LEAKY_RELU_GRAD)).toBe(false);
    if (native) expect(fast.kernels.has(LEAKY_RELU_GRAD)).toBe(true);
  });

  test('Adam: the values and moments after three steps, and either step can follow the other', async () => {
    await tf.setBackend(backend);
    const settings = { learningRate: 1e-2, beta1: 0.5, beta2: 0.999, epsilon: 1e-8 };
    const shapes = [[3, 3, 4, 8], [8], [5000]];
    // Three steps with the switch as `modes` says, on seeded variables.
    const run = async (modes: boolean[]) => {
      const vars = shapes.map((s, i) => tf.variable(seededTensor(s, 20 + i)));
      const optimizer = adamOptimizer(settings);
      const kernels = new Set<string>();
      for (const [step, on] of modes.entries()) {
        setReferenceOps(on);
        const grads = vars.map((v, i) => ({
          name: v.name,
          tensor: tf.mul(seededTensor(v.shape, 30 + 10 * step + i), 1 + step),
        }));
        const profile = await tf.profile(() => optimizer.applyGradients(grads));
        profile.kernels.forEach((k) => kernels.add(k.name));
        tf.dispose(grads.map((g) => g.tensor));
      }
      setReferenceOps(false);
      const moments = (await optimizer.getWeights()).slice(1).map((w) => w.tensor);
      const values = [...vars, ...moments].map((t) => Float32Array.from(t.dataSync()));
      tf.dispose(vars);
      optimizer.dispose();
      return { values, kernels };
    };
    const fast = await run([false, false, false]);
    const reference = await run([true, true, true]);
    const mixed = await run([false, true, false]);
    expect(fast.values).toHaveLength(3 * shapes.length);
    expectClose(fast.values, reference.values, 1e-5);
    expectClose(mixed.values, reference.values, 1e-5);
    expect(reference.kernels.has(ADAM_UPDATE)).toBe(false);
    if (native) expect(fast.kernels.has(ADAM_UPDATE)).toBe(true);
  });

  test("spectral norm at inference: the reference recomputes W / σ, to the cache's value", async () => {
    await tf.setBackend(backend);
    const layer = new SNConv2D({ filters: 4, kernelSize: 3, seed: 40 });
    layer.build([1, 5, 5, 3]);
    const kept = layer.effectiveKernel(false);
    setReferenceOps(true);
    const again = await tf.profile(() => layer.effectiveKernel(false));
    const recomputed = again.result as tf.Tensor;
    expect(again.kernels.map((k) => k.name)).toContain('RealDiv');
    expect(relativeError(recomputed.dataSync(), kept.dataSync())).toBeLessThan(1e-6);
    tf.dispose([kept, recomputed]);
    layer.dispose();
  });
});

// A narrow tiny model with attention in every network; one video per episode, K = 2.
const CONFIG: ModelConfig = {
  ...TINY_PRESET,
  baseWidth: 4,
  maxWidth: 8,
  embeddingSize: 8,
  residualBlocks: 1,
  attention: { embedder: [16], generatorDown: [16], generatorUp: [16], discriminator: [16] },
};
const S = CONFIG.imageSize;
const VIDEOS = 3;
const ADAM = { beta1: 0.5, beta2: 0.999, epsilon: 1e-8 };

function episode(seed: number): EpisodeBatch {
  const image = (s: number, shape: number[]) =>
    tf.tensor(
      seededValues(
        shape.reduce((a, b) => a * b, 1),
        s,
      ).map((v) => (v + 1) / 2),
      shape,
    );
  return {
    plans: [{ videoIndex: 1, key: 'v1', frames: [0, 1, 2], flipped: false }],
    videoIndex: tf.tensor1d([1], 'int32'),
    frames: image(seed, [1, 2, S, S, 3]) as tf.Tensor5D,
    frameLandmarks: image(seed + 1, [1, 2, S, S, 3]) as tf.Tensor5D,
    target: image(seed + 2, [1, S, S, 3]) as tf.Tensor4D,
    targetLandmarks: image(seed + 3, [1, S, S, 3]) as tf.Tensor4D,
  };
}

/** One update of a step: its gradient, and its variables after, flattened in the same order. */
interface Update {
  name: string;
  learningRate: number;
  gradient: Float32Array;
  after: Float32Array;
}

interface StepRecord {
  result: MetaStepResult;
  /** E+G's update, D's, then W's columns. */
  updates: Update[];
  /** The weights no optimizer owns (spectral norm's u), after the step. */
  state: Float32Array;
}

const flat = (tensors: readonly tf.Tensor[]) =>
  tf.tidy(() => tf.concat(tensors.map((t) => tf.reshape(t, [-1]))).dataSync() as Float32Array);

/** One meta-learning step of freshly built networks (the same seeds every time). */
function metaStep(batch: EpisodeBatch): StepRecord {
  const nets = {
    embedder: new Embedder(CONFIG, { seed: 1 }),
    generator: new Generator(CONFIG, { seed: 2 }),
    discriminator: new Discriminator(CONFIG, VIDEOS, { seed: 3 }),
  };
  const settings = {
    embedderGenerator: { learningRate: 5e-4, ...ADAM },
    discriminator: { learningRate: 2e-3, ...ADAM },
  };
  const learner = new MetaLearner(nets, {
    ...settings,
    dStepsPerGStep: 1,
    lossWeights: PAPER_LOSS_WEIGHTS,
    contentTerms: [],
  });
  const gradients = new Map<string, Float32Array>();
  const owned = Object.entries(learner.optimizers).map(([name, { optimizer, variables }]) => {
    const apply = optimizer.applyGradients.bind(optimizer);
    optimizer.applyGradients = (grads) => {
      gradients.set(name, flat((grads as { tensor: tf.Tensor }[]).map((g) => g.tensor)));
      apply(grads);
    };
    const { learningRate } = settings[name as keyof typeof settings];
    return { name, learningRate, variables: variables as readonly tf.Tensor[] };
  });
  const W = learner.columnAdam.target;
  const applyColumns = learner.columnAdam.apply.bind(learner.columnAdam);
  learner.columnAdam.apply = (gradient, columns) => {
    gradients.set('w', flat([gradient]));
    applyColumns(gradient, columns);
  };
  owned.push({ name: 'w', learningRate: settings.discriminator.learningRate, variables: [W] });
  const result = learner.step(batch);
  const updates = owned.map(({ name, learningRate, variables }) => ({
    name,
    learningRate,
    gradient: gradients.get(name)!,
    after: flat(variables),
  }));
  const state = flat(
    Object.values(nets).flatMap((n) => n.nonTrainableWeights.map((w) => w.read())),
  );
  learner.dispose();
  Object.values(nets).forEach((n) => n.dispose());
  return { result, updates, state };
}

// On native, where every op has its fast version (on cpu a step takes several times as long).
test('one meta-learning step: the same losses, gradients and updated weights with the switch on', async () => {
  await tf.setBackend('native');
  const batch = episode(50);
  const run = async (on: boolean) => {
    setReferenceOps(on);
    let record: StepRecord | undefined;
    const profile = await tf.profile(() => {
      record = metaStep(batch);
    });
    setReferenceOps(false);
    return { ...record!, kernels: profile.kernels.map((k) => k.name) };
  };
  const fast = await run(false);
  const reference = await run(true);
  tf.dispose(Object.values(batch).filter((t) => t instanceof tf.Tensor));
  for (const kernel of [RANK_ONE_UPDATE, 'FusedConv2D', LEAKY_RELU_GRAD, ADAM_UPDATE]) {
    expect(fast.kernels).toContain(kernel);
    expect(reference.kernels).not.toContain(kernel);
  }

  expect(fast.result.nonFinite).toBeUndefined();
  expect(reference.result.nonFinite).toBeUndefined();
  for (const [term, value] of Object.entries(fast.result.losses)) {
    const other = reference.result.losses[term as keyof MetaStepResult['losses']];
    expect(Math.abs(value - other)).toBeLessThan(1e-4 * Math.max(1, Math.abs(value)));
  }
  for (const [net, value] of Object.entries(fast.result.gradientNorms)) {
    const other = reference.result.gradientNorms[net as keyof MetaStepResult['gradientNorms']];
    expect(Math.abs(value - other)).toBeLessThan(1e-3 * value);
  }
  expect(fast.updates.map((u) => u.name)).toEqual(['embedderGenerator', 'discriminator', 'w']);
  fast.updates.forEach((update, i) => {
    const other = reference.updates[i]!;
    const { gradient: g, learningRate: lr } = update;
    expect(relativeError(g, other.gradient)).toBeLessThan(1e-4);
    // Adam's first step moves a weight by lr·sign(g): where g is at rounding level its sign
    // may differ, so only there may the two be up to 2·lr apart.
    const scale = g.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
    let worst = 0;
    let worstTiny = 0;
    update.after.forEach((a, j) => {
      const diff = Math.abs(a - other.after[j]!);
      if (Math.abs(g[j]!) > 1e-2 * scale) worst = Math.max(worst, diff);
      else worstTiny = Math.max(worstTiny, diff);
    });
    // W's columns start at ê, which carries the forward pass's rounding.
    expect(worst).toBeLessThan(1e-5);
    expect(worstTiny).toBeLessThanOrEqual(2.01 * lr);
  });
  expect(relativeError(fast.state, reference.state)).toBeLessThan(1e-5);
}, 120_000);
