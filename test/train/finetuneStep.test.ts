import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/select';
import { loadContentTerms } from '../../src/losses/contentTerms';
import type { ContentTerm } from '../../src/losses/contentLoss';
import { presetConfig } from '../../src/models/config';
import { Discriminator } from '../../src/models/discriminator';
import { Generator } from '../../src/models/generator';
import { FinetuneLearner, type ShotBatch } from '../../src/train/finetuneStep';
import { seededValues } from '../helpers/compare';

const config = presetConfig('tiny');
const S = config.imageSize;
const adam = (learningRate: number) => ({ learningRate, beta1: 0.5, beta2: 0.999, epsilon: 1e-8 });

/** G and D in fine-tuning mode from a seeded "embedding", as finetune() leaves them. */
function build() {
  const generator = new Generator(config, { seed: 2 });
  const discriminator = new Discriminator(config, 4, { seed: 3 });
  tf.tidy(() => {
    const e = tf.abs(tf.tensor2d(seededValues(config.embeddingSize, 9), [1, config.embeddingSize]));
    generator.enterFinetuning(generator.projectEmbedding(e));
    discriminator.enterFinetuning(e);
  });
  return { generator, discriminator };
}

function shots(seed: number): ShotBatch {
  const image = (s: number) =>
    tf.tensor4d(
      seededValues(2 * S * S * 3, s).map((v) => (v + 1) / 2),
      [2, S, S, 3],
    );
  return { frames: image(seed), landmarks: image(seed + 1) };
}

function learner(nets: ReturnType<typeof build>, contentTerms: readonly ContentTerm[] = []) {
  return new FinetuneLearner(nets, {
    generator: adam(5e-4),
    discriminator: adam(2e-3),
    dStepsPerGStep: 1,
    featureMatchingWeight: 10,
    contentTerms,
  });
}

const snapshot = (nets: ReturnType<typeof build>) => {
  const named = new Map([
    ...[...nets.generator.namedWeights('generator.')],
    ...[...nets.discriminator.namedWeights('discriminator.')],
  ]);
  return new Map([...named].map(([k, w]) => [k, (w.read().dataSync() as Float32Array).slice()]));
};

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});

test("a step trains psi', G's convolutions, w' and D's trunk; never P, W or w0", () => {
  const nets = build();
  const step = learner(nets);
  const before = snapshot(nets);
  const b = shots(10);
  const result = step.step(b);
  tf.dispose([b.frames, b.landmarks]);
  expect(result.nonFinite).toBeUndefined();
  const after = snapshot(nets);
  const moved = (name: string) => before.get(name)!.some((v, i) => v !== after.get(name)![i]);
  expect(moved('generator.psiPrime')).toBe(true);
  expect(moved('discriminator.wPrime')).toBe(true);
  expect(moved('discriminator.b')).toBe(true);
  expect(
    [...before.keys()].some(
      (k) => k.startsWith('generator.down1.') && k.endsWith('kernel') && moved(k),
    ),
  ).toBe(true);
  expect(
    [...before.keys()].some(
      (k) => k.startsWith('discriminator.trunk.') && k.endsWith('kernel') && moved(k),
    ),
  ).toBe(true);
  for (const frozen of ['generator.projection.kernel', 'discriminator.W', 'discriminator.w0'])
    expect(moved(frozen)).toBe(false);
  step.dispose();
  Object.values(nets).forEach((n) => n.dispose());
});

test('without fine-tuning mode the learner refuses to start', () => {
  const generator = new Generator(config);
  const discriminator = new Discriminator(config, 2);
  expect(() => learner({ generator, discriminator })).toThrow(/fine-tuning mode/);
  generator.dispose();
  discriminator.dispose();
});

test('a non-finite loss stops the step before G is updated, naming the term', () => {
  const nets = build();
  const step = learner(nets);
  const b = shots(20);
  // NaN frames: D's ReLUs may turn the NaN into finite scores (so D's update can go through), but
  // the generator's terms compare against the frames and must stop G's update.
  const poisoned = { ...b, frames: tf.fill(b.frames.shape, NaN) as tf.Tensor4D };
  const generatorWeights = () =>
    nets.generator.trainableWeights.map((w) => (w.read().dataSync() as Float32Array).slice());
  const before = generatorWeights();
  const result = step.step(poisoned);
  expect(['discriminator', 'content', 'adversarial', 'featureMatching', 'total']).toContain(
    result.nonFinite,
  );
  expect(generatorWeights()).toEqual(before);
  tf.dispose([b.frames, b.landmarks, poisoned.frames]);
  step.dispose();
  Object.values(nets).forEach((n) => n.dispose());
});

test('the tensor count stays flat across steps, and L_CNT enters the objective', async () => {
  const terms = await loadContentTerms({ weights: { faceapi: 1 } });
  const nets = build();
  const step = learner(nets, terms);
  const counts: number[] = [];
  for (let i = 0; i < 4; i++) {
    const b = shots(40 + i);
    const result = step.step(b);
    expect(result.nonFinite).toBeUndefined();
    expect(result.losses.content).toBeGreaterThan(0);
    tf.dispose([b.frames, b.landmarks]);
    counts.push(tf.memory().numTensors);
  }
  expect(new Set(counts.slice(1)).size).toBe(1);
  step.dispose();
  Object.values(nets).forEach((n) => n.dispose());
  terms.forEach((t) => t.backbone.dispose());
}, 120_000);

test("one G pass a step: D's updates train on the G update's x̂", () => {
  const nets = build();
  const step = learner(nets);
  const generate = jest.spyOn(nets.generator, 'generate');
  const b = shots(50);
  expect(step.step(b).nonFinite).toBeUndefined();
  expect(generate).toHaveBeenCalledTimes(1);
  tf.dispose([b.frames, b.landmarks]);
  step.dispose();
  Object.values(nets).forEach((n) => n.dispose());
});
