/**
 * @jest-environment ./test/helpers/hostTypedArraysEnvironment.js
 */
import * as tf from '@tensorflow/tfjs';
import { nativeBackendInstance } from '../../src/backend/native/nativeBackend';
import { initBackend } from '../../src/backend/select';
import { presetConfig } from '../../src/models/config';
import { Discriminator } from '../../src/models/discriminator';
import { Embedder } from '../../src/models/embedder';
import { Generator } from '../../src/models/generator';
import { relativeError, runOnBackends, seededTensor } from '../helpers/compare';

const tiny = presetConfig('tiny');
const S = tiny.imageSize;

const images = (shape: number[], seed: number) =>
  tf.tidy(() => tf.div(tf.add(seededTensor(shape, seed), 1), 2));

beforeAll(async () => {
  // The cpu backend as users get it: initBackend replaces its ResizeBilinearGrad, which ignores
  // halfPixelCenters (test/backend/resizeBilinearGrad.test.ts), as the native backend does.
  await initBackend({ backend: 'cpu' });
  await initBackend({ backend: 'native', threads: 1 });
});

test('tiny E, G and D: outputs and whole-network gradients match the cpu backend to 1e-3', async () => {
  const E = new Embedder(tiny, { seed: 1 });
  const G = new Generator(tiny, { seed: 2 });
  const D = new Discriminator(tiny, 2, { seed: 3 });
  const K = 3;
  const frames = images([2, K, S, S, 3], 4) as tf.Tensor5D;
  const frameLandmarks = images([2, K, S, S, 3], 5) as tf.Tensor5D;
  const target = images([2, S, S, 3], 6) as tf.Tensor4D;
  const landmarks = images([2, S, S, 3], 7) as tf.Tensor4D;
  const videos = tf.tensor1d([1, 0], 'int32');
  const weights = [E, G, D].map((m) => m.trainableWeights.map((w) => w.read() as tf.Variable));
  // One vector per network: biases that reach the loss only through a normalisation get
  // rounding-level gradients whose own relative error means nothing.
  const flat = (grads: tf.NamedTensorMap, vars: tf.Variable[]) =>
    tf.concat(vars.map((v) => tf.reshape(grads[v.name]!, [-1])));
  const compute = () => {
    const { value, grads } = tf.variableGrads(() => {
      // A meta-learning step's loss shape: embedding match, pixel and feature terms, D's score.
      const e = E.embedVideo(frames, frameLandmarks);
      const fake = G.generate(landmarks, e);
      const real = D.discriminate(target, landmarks, videos);
      const out = D.discriminate(fake, landmarks, videos);
      const matching = tf.addN(
        out.features.map((f, i) => tf.mean(tf.abs(tf.sub(f, real.features[i]!)))),
      );
      return tf.addN([
        tf.mean(tf.abs(tf.sub(fake, target))),
        tf.neg(tf.mean(out.score)),
        tf.mean(real.score),
        matching,
        tf.mul(tf.mean(tf.abs(e)), 0.1),
      ]) as tf.Scalar;
    }, weights.flat());
    return [value, ...weights.map((vars) => flat(grads, vars))];
  };
  const ops = nativeBackendInstance()!.ops;
  const before = ops.runs;
  const [cpu, native] = await runOnBackends(['cpu', 'native'], compute);
  expect(ops.runs - before).toBeGreaterThan(100);
  expect(native!.length).toBe(4);
  native!.forEach((values, i) => expect(relativeError(values, cpu![i]!)).toBeLessThan(1e-3));
  for (const g of cpu!.slice(1)) expect(Math.max(...g.map(Math.abs))).toBeGreaterThan(1e-4);
  for (const m of [E, G, D]) m.dispose();
});

test('tiny G at inference: from the second frame its filters are baked in, the frames unchanged', async () => {
  await tf.setBackend('native');
  const G = new Generator(tiny, { seed: 8 });
  const landmarks = images([1, S, S, 3], 9) as tf.Tensor4D;
  const embedding = tf.abs(seededTensor([1, tiny.embeddingSize], 10)) as tf.Tensor2D;
  const frame = () => tf.tidy(() => G.generate(landmarks, embedding).dataSync());
  const ops = nativeBackendInstance()!.ops;
  const first = frame();
  const afterFirst = ops.created;
  const second = frame();
  const afterSecond = ops.created;
  const third = frame();
  // Spectral norm keeps W / sigma at inference, so the second frame sees the first one's
  // filters again and bakes them (new sessions), and the third finds those sessions.
  expect(afterSecond).toBeGreaterThan(afterFirst);
  expect(ops.created).toBe(afterSecond);
  expect(relativeError(second, first)).toBeLessThan(1e-4);
  expect(relativeError(third, first)).toBeLessThan(1e-4);
  tf.dispose([landmarks, embedding]);
  G.dispose();
  await tf.setBackend('cpu');
});
