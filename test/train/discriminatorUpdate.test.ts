import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/select';
import { presetConfig } from '../../src/models/config';
import { Discriminator } from '../../src/models/discriminator';
import { collectWeights } from '../../src/models/weights';
import { adamOptimizer } from '../../src/ops/adam';
import { discriminatorUpdates } from '../../src/train/discriminatorUpdate';
import { variablesOf } from '../../src/train/gradients';
import { seededValues } from '../helpers/compare';

const config = presetConfig('tiny');
const S = config.imageSize;
const image = (seed: number) =>
  tf.tensor4d(
    seededValues(2 * S * S * 3, seed).map((v) => (v + 1) / 2),
    [2, S, S, 3],
  );

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});

test("D's updates move D, set W aside with its summed gradient, and leak no tensor", () => {
  const D = new Discriminator(config, 3, { seed: 3 });
  const W = D.projectionMatrix.read() as tf.Variable;
  const variables = variablesOf(D.trainableWeights).filter((v) => v !== W);
  const optimizer = adamOptimizer({ learningRate: 1e-3, beta1: 0.5, beta2: 0.999, epsilon: 1e-8 });
  const batch = {
    real: image(1),
    fake: image(2),
    landmarks: image(3),
    videoIndex: tf.tensor1d([0, 2], 'int32'),
  };
  const values = () => variables.map((v) => Array.from(v.dataSync()));
  const before = { d: values(), w: Array.from(W.dataSync()) };
  const discriminate = jest.spyOn(D, 'discriminate');
  const counts: number[] = [];
  for (let i = 0; i < 3; i++) {
    const update = discriminatorUpdates(D, optimizer, variables, batch, {
      steps: 2,
      gradientClip: undefined,
      setAside: W,
    });
    expect(update.nonFinite).toBe(false);
    expect(Number.isFinite(update.loss) && update.gradientNorm > 0).toBe(true);
    expect(update.setAsideGradient!.shape).toEqual(W.shape);
    update.setAsideGradient!.dispose();
    counts.push(tf.memory().numTensors);
  }
  // Two updates a call, each on x and x̂ as one batch.
  expect(discriminate.mock.calls.map(([x]) => x.shape[0])).toEqual([4, 4, 4, 4, 4, 4]);
  expect(new Set(counts.slice(1)).size).toBe(1);
  expect(values()).not.toEqual(before.d);
  expect(Array.from(W.dataSync())).toEqual(before.w);

  // A NaN pixel in a real frame: whether the ReLUs hide it from the scores or not, the NaN
  // reaches the gradient, and nothing is applied.
  const nanFrame = tf.tidy(() => {
    const mask = tf.oneHot(tf.tensor1d([5], 'int32'), 2 * S * S * 3).reshape([2, S, S, 3]);
    return tf.where(
      tf.cast(mask, 'bool'),
      tf.fill([2, S, S, 3], Number.NaN),
      batch.real,
    ) as tf.Tensor4D;
  });
  const clean = { d: values(), w: Array.from(W.dataSync()) };
  const nanUpdate = discriminatorUpdates(
    D,
    optimizer,
    variables,
    { ...batch, real: nanFrame },
    {
      steps: 2,
      gradientClip: 1,
      setAside: W,
    },
  );
  expect(nanUpdate.nonFinite).toBe(true);
  expect(nanUpdate.setAsideGradient).toBeUndefined();
  expect({ d: values(), w: Array.from(W.dataSync()) }).toEqual(clean);
  nanFrame.dispose();

  // A NaN bias makes the scores NaN (NaN frames may not: a ReLU can turn NaN into 0).
  const bias = collectWeights({ discriminator: D }).get('discriminator.b')!;
  bias.write(tf.fill(bias.shape as number[], Number.NaN));
  const poisoned = { d: values(), w: Array.from(W.dataSync()) };
  const refused = discriminatorUpdates(D, optimizer, variables, batch, {
    steps: 2,
    gradientClip: 1,
    setAside: W,
  });
  expect(refused).toMatchObject({ nonFinite: true, loss: 0, gradientNorm: 0 });
  expect(refused.setAsideGradient).toBeUndefined();
  expect({ d: values(), w: Array.from(W.dataSync()) }).toEqual(poisoned);
  tf.dispose(Object.values(batch));
  optimizer.dispose();
  D.dispose();
});
