import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/select';
import { discriminatorHingeLoss, generatorAdversarialLoss } from '../../src/losses/adversarial';
import { expectedVggTensors, vggFromTensors } from '../../src/losses/backbones/vgg';
import type { FeatureBackbone } from '../../src/losses/backbones/backbone';
import { contentLoss } from '../../src/losses/contentLoss';
import { detach } from '../../src/ops/detach';
import { embeddingMatchLoss } from '../../src/losses/embeddingMatch';
import { featureMatchingLoss } from '../../src/losses/featureMatching';
import { presetConfig } from '../../src/models/config';
import { Discriminator } from '../../src/models/discriminator';
import { Embedder } from '../../src/models/embedder';
import { Generator } from '../../src/models/generator';
import type { RawTensor } from '../../src/formats/safetensors';
import { seededValues } from '../helpers/compare';

/**
 * Each loss term must send gradient to the networks it trains and none to the others:
 * L_CNT -> G and E, never D or the backbone; L_MCH -> E and W only; L_ADV -> G and E; the hinge
 * loss on a detached fake -> D only.
 */
const tiny = presetConfig('tiny');
const S = tiny.imageSize;
let E: Embedder;
let G: Generator;
let D: Discriminator;
let vgg: FeatureBackbone;
let frames: tf.Tensor5D; // K = 2 embedder frames per video
let marks: tf.Tensor5D;
let target: tf.Tensor4D;
let targetMarks: tf.Tensor4D;
const videos = () => tf.tensor1d([0, 2], 'int32');

function randomVgg19(): FeatureBackbone {
  const tensors: Record<string, RawTensor> = {};
  Object.entries(expectedVggTensors('vgg19')).forEach(([name, shape], i) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const fanIn = shape.length === 4 ? shape[1]! * 9 : 1;
    const data = seededValues(size, 100 + i).map((v) => (v * Math.sqrt(6 / fanIn)) / 2);
    tensors[name] = { dtype: 'F32', shape, data };
  });
  return vggFromTensors('vgg19', tensors, 'random-vgg19');
}

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
  E = new Embedder(tiny);
  G = new Generator(tiny);
  D = new Discriminator(tiny, 3);
  vgg = randomVgg19();
  const image = (seed: number, shape: number[]) =>
    tf.tensor(
      seededValues(
        shape.reduce((a, b) => a * b, 1),
        seed,
      ).map((v) => (v + 1) / 2),
      shape,
    );
  frames = image(1, [2, 2, S, S, 3]) as tf.Tensor5D;
  marks = image(2, [2, 2, S, S, 3]) as tf.Tensor5D;
  target = image(3, [2, S, S, 3]) as tf.Tensor4D;
  targetMarks = image(4, [2, S, S, 3]) as tf.Tensor4D;
});

type Net = 'E' | 'G' | 'D' | 'W';

/** Which networks get a non-zero gradient from `loss`, over all their trainable weights. */
function reached(loss: () => tf.Scalar): Set<Net> {
  const W = D.projectionMatrix;
  const owners = new Map<string, Net>();
  for (const [net, weights] of [
    ['E', E.trainableWeights],
    ['G', G.trainableWeights],
    ['D', D.trainableWeights],
  ] as const) {
    for (const w of weights) owners.set((w.read() as tf.Variable).name, w === W ? 'W' : net);
  }
  const all = [...E.trainableWeights, ...G.trainableWeights, ...D.trainableWeights].map(
    (w) => w.read() as tf.Variable,
  );
  const { value, grads } = tf.variableGrads(loss, all);
  const nets = new Set<Net>();
  for (const [name, g] of Object.entries(grads)) {
    if (tf.tidy(() => tf.max(tf.abs(g)).dataSync()[0]!) > 0) nets.add(owners.get(name)!);
  }
  tf.dispose([value, ...Object.values(grads)]);
  return nets;
}

const generate = () => G.generate(targetMarks, E.embedVideo(frames, marks, true), true);

test('L_CNT reaches G and E, never D, and never computes a backbone weight gradient', async () => {
  const layers = ['relu1_1', 'relu2_1', 'relu3_1', 'relu4_1', 'relu5_1'];
  const cnt = () => contentLoss(target, generate(), [{ backbone: vgg, layers, weight: 1e-2 }]);
  expect(reached(cnt)).toEqual(new Set(['E', 'G']));

  // The backbone's convs add forward passes but no Conv2DBackpropFilter: only E's and G's run.
  const filterGradients = async (loss: () => tf.Scalar) => {
    const variables = [...E.trainableWeights, ...G.trainableWeights].map(
      (w) => w.read() as tf.Variable,
    );
    const profile = await tf.profile(() => {
      const { value, grads } = tf.variableGrads(loss, variables);
      tf.dispose([value, ...Object.values(grads)]);
    });
    return profile.kernels.filter((k) => k.name === 'Conv2DBackpropFilter').length;
  };
  const plain = await filterGradients(() => tf.mean(tf.abs(tf.sub(generate(), target))));
  expect(plain).toBeGreaterThan(0);
  expect(await filterGradients(cnt)).toBe(plain);
});

test('L_MCH reaches E and W only', () => {
  const mch = () => embeddingMatchLoss(E.embedVideo(frames, marks, true), D.videoColumns(videos()));
  expect(reached(mch)).toEqual(new Set(['E', 'W']));
});

test('L_ADV (adversarial term and feature matching) reaches G and E', () => {
  const adv = () => {
    const real = D.discriminate(target, targetMarks, videos(), true);
    const fake = D.discriminate(generate(), targetMarks, videos(), true);
    return tf.add(
      generatorAdversarialLoss(fake.score),
      tf.mul(featureMatchingLoss(real.features, fake.features), 10),
    ) as tf.Scalar;
  };
  const nets = reached(adv);
  expect(nets.has('E') && nets.has('G')).toBe(true);
});

test('the hinge loss on a detached fake reaches D (and W) only', () => {
  const hinge = () => {
    const fake = detach(generate());
    const real = D.discriminate(target, targetMarks, videos(), true).score;
    return discriminatorHingeLoss(real, D.discriminate(fake, targetMarks, videos(), true).score);
  };
  expect(reached(hinge)).toEqual(new Set(['D', 'W']));
});

afterAll(() => {
  for (const m of [E, G, D]) m.dispose();
  vgg.dispose();
});
