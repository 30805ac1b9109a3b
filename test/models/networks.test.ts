import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/select';
import { presetConfig } from '../../src/models/config';
import { Discriminator } from '../../src/models/discriminator';
import { Embedder } from '../../src/models/embedder';
import { Generator } from '../../src/models/generator';
import type { ModuleLayer } from '../../src/models/layers/moduleLayer';
import { collectWeights, loadWeights, saveWeights } from '../../src/models/weights';
import { UserError } from '../../src/errors';
import { relativeError, runOnBackends, seededTensor } from '../helpers/compare';

const tiny = presetConfig('tiny');
const S = tiny.imageSize;

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});

function images(batch: number, seed: number): tf.Tensor4D {
  return tf.tidy(() => tf.div(tf.add(seededTensor([batch, S, S, 3], seed), 1), 2)) as tf.Tensor4D;
}

/** Names of the trainable weights whose gradient of `loss` is exactly zero everywhere. */
function weightsWithoutGradient(module: ModuleLayer, loss: () => tf.Scalar): string[] {
  const names = new Map(
    [...module.namedWeights()]
      .filter(([, w]) => w.trainable)
      .map(([name, w]) => [(w.read() as tf.Variable).name, name]),
  );
  const { value, grads } = tf.variableGrads(
    loss,
    module.trainableWeights.map((w) => w.read() as tf.Variable),
  );
  // A variable off the path to the loss gets no entry at all; count it as getting none.
  const none = [...names.keys()]
    .filter((v) => grads[v] == null || tf.tidy(() => tf.max(tf.abs(grads[v]!)).dataSync()[0]) === 0)
    .map((v) => names.get(v)!);
  tf.dispose([value, ...Object.values(grads)]);
  return none.sort();
}

function setAttentionGammas(module: ModuleLayer, value: number): void {
  for (const [name, weight] of module.namedWeights()) {
    if (/attention\w*\.gamma$/.test(name)) weight.write(tf.tensor1d([value]));
  }
}

describe('tiny preset shapes', () => {
  test('E, G (both modes) and D (both modes)', () => {
    const E = new Embedder(tiny);
    const G = new Generator(tiny);
    const D = new Discriminator(tiny, 4);
    const x = images(2, 1);
    const y = images(2, 2);
    const e = E.embed(x, y);
    expect(e.shape).toEqual([2, tiny.embeddingSize]);
    expect(tf.min(e).dataSync()[0]).toBeGreaterThanOrEqual(0);
    const video = E.embedVideo(tf.stack([x, y]) as tf.Tensor5D, tf.stack([y, x]) as tf.Tensor5D);
    expect(video.shape).toEqual([2, tiny.embeddingSize]);
    const frame = G.generate(y, e);
    expect(frame.shape).toEqual([2, S, S, 3]);
    expect(tf.min(frame).dataSync()[0]).toBeGreaterThan(0);
    expect(tf.max(frame).dataSync()[0]).toBeLessThan(1);
    const d = D.discriminate(frame, y, tf.tensor1d([1, 3], 'int32'));
    expect(d.score.shape).toEqual([2]);
    expect(d.v.shape).toEqual([2, tiny.embeddingSize]);
    expect(d.features.map((f) => f.shape)).toEqual([
      [2, 32, 32, 8],
      [2, 16, 16, 16],
      [2, 16, 16, 16], // self-attention at 16
      [2, 8, 8, 32],
      [2, 4, 4, 32],
      [2, 4, 4, 32], // the extra residual block
    ]);
    // The declared output shapes are the ones call() produces: score, every stage, v.
    expect(
      D.computeOutputShape([
        [2, S, S, 3],
        [2, S, S, 3],
      ]),
    ).toEqual([[2], ...d.features.map((f) => f.shape), [2, tiny.embeddingSize]]);
    G.enterFinetuning(tf.zeros([G.psiLength]));
    expect(G.generate(y).shape).toEqual([2, S, S, 3]);
    D.enterFinetuning(tf.zeros([tiny.embeddingSize]));
    expect(D.discriminate(frame, y).score.shape).toEqual([2]);
    for (const m of [E, G, D]) m.dispose();
  });
});

test('paper preset at 256 px: shapes and parameter counts within 10% of the public port', () => {
  const paper = presetConfig('paper');
  const x = tf.randomUniform([1, 256, 256, 3]) as tf.Tensor4D;
  const E = new Embedder(paper);
  const G = new Generator(paper);
  const D = new Discriminator(paper, 3);
  const e = E.embed(x, x);
  expect(e.shape).toEqual([1, 512]);
  const frame = G.generate(x, e);
  expect(frame.shape).toEqual([1, 256, 256, 3]);
  const d = D.discriminate(frame, x, tf.tensor1d([2], 'int32'));
  expect(d.score.shape).toEqual([1]);
  expect(d.features.map((f) => f.shape[1])).toEqual([128, 64, 32, 32, 16, 8, 4, 4]);
  const within10 = (n: number, port: number) => expect(Math.abs(n / port - 1)).toBeLessThan(0.1);
  within10(E.countTrainableParams(), 14.9e6);
  within10(G.countTrainableParams(), 38.2e6);
  within10(D.countTrainableParams() - 512 * 3, 19.6e6);
  expect(G.psiLength).toBe(13184);
  tf.dispose([x, e, frame, d.score, d.v, ...d.features]);
  for (const m of [E, G, D]) m.dispose();
});

describe('gradient flow: one backward pass reaches every trainable weight', () => {
  // Self-attention starts as the identity (gamma = 0), so its f, g and h convs get no gradient
  // until gamma moves: exactly those, and nothing else, may be listed at initialisation.
  const attentionConvs = /attention\w*\.(f|g|h)\.(kernel|bias)$/;
  const cases: [string, () => { module: ModuleLayer; loss: () => tf.Scalar }][] = [
    [
      'embedder',
      () => {
        const E = new Embedder(tiny);
        const [x, y] = [images(2, 3), images(2, 4)];
        return { module: E, loss: () => tf.sum(E.embed(x, y, true)) };
      },
    ],
    [
      'generator',
      () => {
        const G = new Generator(tiny);
        const [y, e] = [
          images(2, 5),
          tf.abs(seededTensor([2, tiny.embeddingSize], 6)) as tf.Tensor2D,
        ];
        const weights = seededTensor([2, S, S, 3], 7);
        return { module: G, loss: () => tf.sum(tf.mul(G.generate(y, e, true), weights)) };
      },
    ],
    [
      'discriminator',
      () => {
        const D = new Discriminator(tiny, 4);
        const [x, y] = [images(2, 8), images(2, 9)];
        const videos = tf.tensor1d([0, 2], 'int32');
        return { module: D, loss: () => tf.sum(D.discriminate(x, y, videos, true).score) };
      },
    ],
  ];
  test.each(cases)('%s', (_name, make) => {
    const { module, loss } = make();
    const none = weightsWithoutGradient(module, loss);
    expect(none.length).toBeGreaterThan(0);
    for (const name of none) expect(name).toMatch(attentionConvs);
    setAttentionGammas(module, 0.5);
    expect(weightsWithoutGradient(module, loss)).toEqual([]);
    module.dispose();
  });
});

test('save then load reproduces outputs bit for bit; a file of another model is refused', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'th-weights-'));
  const file = path.join(dir, 'tiny.safetensors');
  const [x, y] = [images(2, 10), images(2, 11)];
  const videos = tf.tensor1d([1, 0], 'int32');
  const run = (E: Embedder, G: Generator, D: Discriminator) =>
    tf.tidy(() => {
      const e = E.embed(x, y);
      const frame = G.generate(y, e);
      return [e, frame, D.discriminate(frame, y, videos).score].map(
        (t) => t.dataSync() as Float32Array,
      );
    });
  const nets = {
    embedder: new Embedder(tiny),
    generator: new Generator(tiny),
    discriminator: new Discriminator(tiny, 2),
  };
  // Some training calls so the spectral-norm u vectors are not their initial values.
  tf.dispose(nets.generator.generate(y, nets.embedder.embed(x, y, true), true));
  const before = run(nets.embedder, nets.generator, nets.discriminator);
  await saveWeights(file, nets, { preset: 'tiny' });

  const other = {
    embedder: new Embedder(tiny, { seed: 7 }),
    generator: new Generator(tiny, { seed: 8 }),
    discriminator: new Discriminator(tiny, 2, { seed: 9 }),
  };
  expect(run(other.embedder, other.generator, other.discriminator)[1]).not.toEqual(before[1]);
  const metadata = await loadWeights(file, other);
  expect(metadata.preset).toBe('tiny');
  const after = run(other.embedder, other.generator, other.discriminator);
  after.forEach((values, i) =>
    expect(Buffer.from(values.buffer).equals(Buffer.from(before[i]!.buffer))).toBe(true),
  );
  expect([...collectWeights(other).keys()]).toEqual([...collectWeights(nets).keys()]);

  const wider = { generator: new Generator({ ...tiny, baseWidth: 16 }) };
  await expect(loadWeights(file, wider)).rejects.toThrow(UserError);
  await expect(loadWeights(file, wider)).rejects.toThrow(
    /tiny\.safetensors: tensor 'generator\.down1\.skip\.kernel' has shape \[1,1,3,8\], the model needs \[1,1,3,16\]/,
  );
  await expect(loadWeights(file, { generator: other.generator })).rejects.toThrow(
    /unexpected tensor 'discriminator\./,
  );
  for (const m of [...Object.values(nets), ...Object.values(other), wider.generator]) m.dispose();
  fs.rmSync(dir, { recursive: true });
});

test("fine-tuning modes: psi' = P·ê and w' = w0 + ê reproduce the meta-mode outputs", () => {
  const E = new Embedder(tiny);
  const G = new Generator(tiny);
  const D = new Discriminator(tiny, 3);
  const [x, y] = [images(1, 12), images(2, 13)];
  const e = E.embed(x, x);
  const meta = G.generate(y, tf.tile(e, [2, 1]) as tf.Tensor2D);
  G.enterFinetuning(G.projectEmbedding(e));
  expect(G.mode).toBe('finetune');
  expect(relativeError(G.generate(y).dataSync(), meta.dataSync())).toBeLessThan(1e-5);
  const trainable = new Set(G.trainableWeights);
  const named = G.namedWeights();
  expect(trainable.has(named.get('psiPrime')!)).toBe(true);
  expect(trainable.has(named.get('projection.kernel')!)).toBe(false);

  D.enterFinetuning(e);
  const { score, v } = D.discriminate(meta, y);
  const w = D.namedWeights();
  const want = tf.add(
    tf.sum(tf.mul(v, tf.add(w.get('w0')!.read(), tf.reshape(e, [-1]))), 1),
    w.get('b')!.read(),
  );
  expect(relativeError(score.dataSync(), want.dataSync())).toBeLessThan(1e-5);
  for (const m of [E, G, D]) m.dispose();
});

test('tiny G and D agree between wasm and cpu, forward and backward, to 1e-3', async () => {
  // The cpu backend as users get it (initBackend adds its fast conv weight gradient, which
  // test/backend/cpuFastKernels.test.ts checks against the original kernel).
  await initBackend({ backend: 'cpu' });
  await initBackend({ backend: 'wasm' });
  const G = new Generator(tiny);
  const D = new Discriminator(tiny, 2);
  const [x, y] = [images(2, 14), images(2, 15)];
  const e = tf.abs(seededTensor([2, tiny.embeddingSize], 16)) as tf.Tensor2D;
  const videos = tf.tensor1d([1, 0], 'int32');
  // Gradients are compared per network as one vector: biases that feed a normalisation only
  // through skip paths get rounding-level gradients (~1e-9), whose own relative error means
  // nothing.
  const gradientVector = (weights: tf.LayerVariable[], grads: tf.NamedTensorMap) =>
    tf.concat(weights.map((w) => tf.reshape(grads[(w.read() as tf.Variable).name]!, [-1])));
  const compute = () => {
    const frame = G.generate(y, e);
    const score = D.discriminate(frame, y, videos).score;
    const { grads } = tf.variableGrads(
      () => tf.sum(D.discriminate(G.generate(y, e), x, videos).score),
      [...G.trainableWeights, ...D.trainableWeights].map((w) => w.read() as tf.Variable),
    );
    return [
      frame,
      score,
      gradientVector(G.trainableWeights, grads),
      gradientVector(D.trainableWeights, grads),
    ];
  };
  const [cpu, wasm] = await runOnBackends(['cpu', 'wasm'], compute);
  expect(wasm!.length).toBe(4);
  wasm!.forEach((values, i) => expect(relativeError(values, cpu![i]!)).toBeLessThan(1e-3));
  expect(Math.max(...cpu![2]!.map(Math.abs))).toBeGreaterThan(1e-3); // G's gradient is not all zero
  G.dispose();
  D.dispose();
});

test('the tensor count stays flat across training steps', () => {
  const E = new Embedder(tiny);
  const G = new Generator(tiny);
  const D = new Discriminator(tiny, 2);
  const [x, y] = [images(2, 17), images(2, 18)];
  const videos = tf.tensor1d([0, 1], 'int32');
  const optimizer = tf.train.adam(1e-4);
  const variables = () =>
    [...E.trainableWeights, ...G.trainableWeights].map((w) => w.read() as tf.Variable);
  const counts: number[] = [];
  for (let i = 0; i < 3; i++) {
    const loss = () => {
      const frame = G.generate(y, E.embed(x, y, true), true);
      return tf.neg(tf.mean(D.discriminate(frame, y, videos, true).score)) as tf.Scalar;
    };
    optimizer.minimize(loss, true, variables())?.dispose();
    counts.push(tf.memory().numTensors);
  }
  expect(counts[2]).toBe(counts[1]);
  expect(counts[1]).toBe(counts[0]);
  for (const m of [E, G, D]) m.dispose();
  optimizer.dispose();
});
