import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/select';
import type { EpisodeBatch } from '../../src/data/episodes/sampler';
import { PAPER_LOSS_WEIGHTS } from '../../src/losses/lossWeights';
import { loadContentTerms } from '../../src/losses/contentTerms';
import type { ContentTerm } from '../../src/losses/contentLoss';
import { presetConfig } from '../../src/models/config';
import { Discriminator } from '../../src/models/discriminator';
import { Embedder } from '../../src/models/embedder';
import { Generator } from '../../src/models/generator';
import { ColumnAdam } from '../../src/train/columnAdam';
import { MetaLearner, type MetaStepSettings } from '../../src/train/metaStep';
import { seededValues } from '../helpers/compare';

const config = presetConfig('tiny');
const S = config.imageSize;
const VIDEOS = 5;
const adam = (learningRate: number) => ({ learningRate, beta1: 0.5, beta2: 0.999, epsilon: 1e-8 });

function settings(contentTerms: readonly ContentTerm[] = []): MetaStepSettings {
  return {
    embedderGenerator: adam(5e-4),
    discriminator: adam(2e-3),
    dStepsPerGStep: 1,
    lossWeights: PAPER_LOSS_WEIGHTS,
    contentTerms,
  };
}

function build(seedOffset = 0) {
  return {
    embedder: new Embedder(config, { seed: 1 + seedOffset }),
    generator: new Generator(config, { seed: 2 + seedOffset }),
    discriminator: new Discriminator(config, VIDEOS, { seed: 3 + seedOffset }),
  };
}

/** Two episodes (videos 1 and 3), K = 2, seeded pixels in [0, 1]. */
function batch(seed: number, videos = [1, 3]): EpisodeBatch {
  const b = videos.length;
  const image = (s: number, shape: number[]) =>
    tf.tensor(
      seededValues(
        shape.reduce((x, y) => x * y, 1),
        s,
      ).map((v) => (v + 1) / 2),
      shape,
    );
  return {
    plans: videos.map((videoIndex) => ({
      videoIndex,
      key: `v${videoIndex}`,
      frames: [0, 1, 2],
      flipped: false,
    })),
    videoIndex: tf.tensor1d(videos, 'int32'),
    frames: image(seed, [b, 2, S, S, 3]) as tf.Tensor5D,
    frameLandmarks: image(seed + 1, [b, 2, S, S, 3]) as tf.Tensor5D,
    target: image(seed + 2, [b, S, S, 3]) as tf.Tensor4D,
    targetLandmarks: image(seed + 3, [b, S, S, 3]) as tf.Tensor4D,
  };
}

const dispose = (b: EpisodeBatch) =>
  tf.dispose([b.videoIndex, b.frames, b.frameLandmarks, b.target, b.targetLandmarks]);

const values = (w: { read(): tf.Tensor }[]) =>
  w.map((x) => (x.read().dataSync() as Float32Array).slice());

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});

test('a step updates E, G and D, and only the W columns of the batch videos', () => {
  const nets = build();
  const learner = new MetaLearner(nets, settings());
  const W = nets.discriminator.projectionMatrix;
  const before = {
    e: values(nets.embedder.trainableWeights),
    g: values(nets.generator.trainableWeights),
    d: values(nets.discriminator.trainableWeights.filter((w) => w !== W)),
    w: W.read().arraySync() as number[][],
  };
  const b = batch(10);
  const result = learner.step(b);
  dispose(b);
  expect(result.nonFinite).toBeUndefined();
  for (const v of Object.values(result.losses)) expect(Number.isFinite(v)).toBe(true);
  const changed = (a: Float32Array[], c: Float32Array[]) =>
    a.some((x, i) => x.some((v, j) => v !== c[i]![j]));
  expect(changed(before.e, values(nets.embedder.trainableWeights))).toBe(true);
  expect(changed(before.g, values(nets.generator.trainableWeights))).toBe(true);
  expect(
    changed(before.d, values(nets.discriminator.trainableWeights.filter((w) => w !== W))),
  ).toBe(true);
  const after = W.read().arraySync() as number[][];
  for (let c = 0; c < VIDEOS; c++) {
    const moved = after.some((row, r) => row[c] !== before.w[r]![c]);
    expect(moved).toBe(c === 1 || c === 3);
  }
  learner.dispose();
  Object.values(nets).forEach((n) => n.dispose());
});

test("a video's W column starts at its first ê, then only Adam moves it", () => {
  const nets = build();
  const s = settings();
  const learner = new MetaLearner(nets, s);
  const W = nets.discriminator.projectionMatrix;
  const before = W.read().arraySync() as number[][];
  const first = batch(10);
  // The step's first pass of E, on an identical copy (a training pass also moves spectral
  // norm's power iteration, so the copy's first pass is the step's).
  const twin = build();
  const embedding = tf.tidy(() =>
    twin.embedder.embedVideo(first.frames, first.frameLandmarks, true).arraySync(),
  );
  Object.values(twin).forEach((n) => n.dispose());
  learner.step(first);
  dispose(first);
  const lr = s.discriminator.learningRate;
  const afterOne = W.read().arraySync() as number[][];
  [1, 3].forEach((video, row) =>
    afterOne.forEach((wRow, r) =>
      // One Adam step moves an entry by at most about the learning rate.
      expect(Math.abs(wRow[video]! - embedding[row]![r]!)).toBeLessThanOrEqual(lr * 1.01),
    ),
  );
  for (const video of [0, 2, 4])
    afterOne.forEach((wRow, r) => expect(wRow[video]).toBe(before[r]![video]));
  // Seen again: the column takes one Adam step from where it was, no new start.
  const second = batch(20);
  const two = learner.step(second);
  dispose(second);
  expect(two.losses.embeddingMatch).toBeGreaterThan(0);
  const afterTwo = W.read().arraySync() as number[][];
  [1, 3].forEach((video) =>
    afterTwo.forEach((wRow, r) =>
      expect(Math.abs(wRow[video]! - afterOne[r]![video]!)).toBeLessThanOrEqual(lr * 1.01),
    ),
  );
  learner.dispose();
  Object.values(nets).forEach((n) => n.dispose());
});

test('the column Adam equals a plain Adam on that column alone', () => {
  const rows = 4;
  const start = seededValues(rows * 3, 5);
  const W = tf.variable(tf.tensor2d(start, [rows, 3]));
  const settingsW = adam(0.01);
  const columnAdam = new ColumnAdam(W, settingsW);
  // Reference: column 2 as its own variable under tf.train.adam.
  const column = tf.variable(
    tf.tensor1d(Array.from({ length: rows }, (_, r) => start[r * 3 + 2]!)),
  );
  const reference = tf.train.adam(
    settingsW.learningRate,
    settingsW.beta1,
    settingsW.beta2,
    settingsW.epsilon,
  );
  for (let step = 0; step < 3; step++) {
    const grad = tf.tensor2d(seededValues(rows * 3, 20 + step), [rows, 3]);
    // Column 0 moves on steps 0 and 2, column 2 on every step, column 1 never.
    columnAdam.apply(grad, step === 1 ? [2] : [0, 2]);
    const g2 = tf.squeeze(tf.slice(grad, [0, 2], [rows, 1]));
    reference.applyGradients({ [column.name]: g2 } as tf.NamedTensorMap as never);
    tf.dispose([grad, g2]);
  }
  const got = W.arraySync();
  const want = column.arraySync();
  for (let r = 0; r < rows; r++) {
    expect(got[r]![2]).toBeCloseTo(want[r]!, 6);
    expect(got[r]![1]).toBe(start[r * 3 + 1]);
  }
  expect(Array.from(columnAdam.steps)).toEqual([2, 0, 3]);
  tf.dispose([W, column]);
  columnAdam.dispose();
  reference.dispose();
});

test('a non-finite loss stops the step before E, G or W is updated, naming the term', () => {
  const nets = build();
  const learner = new MetaLearner(nets, settings());
  const W = nets.discriminator.projectionMatrix;
  // Spectral norm's power iteration writes u on every training forward pass, so compare the
  // trainable weights, which only an optimizer writes.
  const untouched = () =>
    values([...nets.embedder.trainableWeights, ...nets.generator.trainableWeights, W]);
  const b = batch(30);
  const poisoned = { ...b, target: tf.fill(b.target.shape, NaN) as tf.Tensor4D };
  const before = untouched();
  const result = learner.step(poisoned);
  expect(['discriminator', 'content', 'adversarial', 'featureMatching', 'total']).toContain(
    result.nonFinite,
  );
  expect(untouched()).toEqual(before);
  tf.dispose(poisoned.target);
  dispose(b);
  learner.dispose();
  Object.values(nets).forEach((n) => n.dispose());
});

test('the tensor count stays flat across steps, and L_CNT enters the objective', async () => {
  const terms = await loadContentTerms();
  const nets = build();
  const learner = new MetaLearner(nets, { ...settings(terms), dStepsPerGStep: 2 });
  const counts: number[] = [];
  for (let step = 0; step < 4; step++) {
    const b = batch(40 + step);
    const result = learner.step(b);
    expect(result.nonFinite).toBeUndefined();
    expect(result.losses.content).toBeGreaterThan(0);
    dispose(b);
    counts.push(tf.memory().numTensors);
  }
  expect(new Set(counts.slice(1)).size).toBe(1);
  learner.dispose();
  Object.values(nets).forEach((n) => n.dispose());
  terms.forEach((t) => t.backbone.dispose());
}, 120_000);

test("one E and G pass a step: D's updates train on the E+G update's x̂, and see it whole", () => {
  const nets = build();
  const learner = new MetaLearner(nets, settings());
  const generate = jest.spyOn(nets.generator, 'generate');
  const embed = jest.spyOn(nets.embedder, 'embedVideo');
  const discriminate = jest.spyOn(nets.discriminator, 'discriminate');
  const b = batch(40);
  const result = learner.step(b);
  expect(result.nonFinite).toBeUndefined();
  expect(generate).toHaveBeenCalledTimes(1);
  expect(embed).toHaveBeenCalledTimes(1);
  // The E+G update's D on x and on x̂, then the D update (one a step here) on both as one batch.
  const batchSizes = discriminate.mock.calls.map(([x]) => x.shape[0]);
  expect(batchSizes).toEqual([2, 2, 4]);
  dispose(b);
  learner.dispose();
  Object.values(nets).forEach((n) => n.dispose());
});
