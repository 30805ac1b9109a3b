import * as tf from '@tensorflow/tfjs';
import { discriminatorHingeLoss, generatorAdversarialLoss } from '../../src/losses/adversarial';
import { detach } from '../../src/losses/detach';
import { embeddingMatchLoss } from '../../src/losses/embeddingMatch';
import { featureMatchingLoss } from '../../src/losses/featureMatching';
import { PAPER_LOSS_WEIGHTS } from '../../src/losses/lossWeights';

beforeAll(async () => {
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
});

const value = (t: tf.Tensor) => t.dataSync()[0]!;

describe('hinge and adversarial losses match hand-computed values', () => {
  test('hinge: mean(max(0, 1 - r)) + mean(max(0, 1 + r̂))', () => {
    // real: max(0,1-2)=0, max(0,0.5)=0.5, max(0,2)=2 -> 2.5/3; fake: 0, 1, 1.5 -> 2.5/3
    const loss = discriminatorHingeLoss(tf.tensor1d([2, 0.5, -1]), tf.tensor1d([-2, 0, 0.5]));
    expect(value(loss)).toBeCloseTo(5 / 3, 6);
    // Beyond both margins the loss is exactly 0, not 1 (no sigmoid on the scores).
    expect(value(discriminatorHingeLoss(tf.tensor1d([3, 1]), tf.tensor1d([-1, -4])))).toBe(0);
  });

  test('generator: -mean(r̂)', () => {
    expect(value(generatorAdversarialLoss(tf.tensor1d([-2, 0, 0.5])))).toBeCloseTo(0.5, 6);
  });

  test('hinge gradients: -1/n for real scores inside the margin, +1/n for fake ones, 0 outside', () => {
    const [gReal, gFake] = tf.grads((r: tf.Tensor, f: tf.Tensor) =>
      discriminatorHingeLoss(r as tf.Tensor1D, f as tf.Tensor1D),
    )([tf.tensor1d([2, 0.5]), tf.tensor1d([-2, 0.5])]);
    expect(Array.from(gReal!.dataSync(), (v) => v + 0)).toEqual([0, -0.5]); // + 0 turns -0 into 0
    expect(Array.from(gFake!.dataSync(), (v) => v + 0)).toEqual([0, 0.5]);
  });
});

describe('feature matching', () => {
  test('sum over layers of the mean L1 distance', () => {
    const real = [
      tf.tensor2d([
        [1, 2],
        [3, 4],
      ]),
      tf.tensor1d([0, 0, 0]),
    ];
    const fake = [
      tf.tensor2d([
        [1, 1],
        [1, 1],
      ]),
      tf.tensor1d([3, -3, 0]),
    ];
    // layer 1: (0 + 1 + 2 + 3) / 4 = 1.5; layer 2: (3 + 3 + 0) / 3 = 2
    expect(value(featureMatchingLoss(real, fake))).toBeCloseTo(3.5, 6);
  });

  test('real activations are detached: gradient reaches the fake side only', () => {
    const real = tf.variable(tf.tensor2d([[1, 2]]));
    const fake = tf.variable(tf.tensor2d([[0, 5]]));
    const { value, grads } = tf.variableGrads(
      () => featureMatchingLoss([real], [fake]),
      [real, fake],
    );
    expect(Array.from(grads[fake.name]!.dataSync())).toEqual([-0.5, 0.5]);
    expect(grads[real.name]).toBeUndefined(); // not on any gradient path
    tf.dispose([value, real, fake, ...Object.values(grads)]);
  });

  test('mismatched layer lists are refused', () => {
    expect(() => featureMatchingLoss([tf.zeros([1])], [])).toThrow(
      /same non-zero number of layers/,
    );
  });
});

test('L_MCH: mean L1 between embeddings and W columns; gradient to both', () => {
  const e = tf.tensor2d([
    [1, 0.5],
    [2, 2.5],
  ]);
  const w = tf.tensor2d([
    [0, 0],
    [2.5, 4],
  ]);
  expect(value(embeddingMatchLoss(e, w))).toBeCloseTo(0.875, 6); // (1 + 0.5 + 0.5 + 1.5) / 4
  const [ge, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
    embeddingMatchLoss(a as tf.Tensor2D, b as tf.Tensor2D),
  )([e, w]);
  expect(Array.from(ge!.dataSync())).toEqual([0.25, 0.25, -0.25, -0.25]);
  expect(Array.from(gw!.dataSync())).toEqual([-0.25, -0.25, 0.25, 0.25]);
});

describe('detach', () => {
  test('same values, no gradient, no leaked tensor', () => {
    const x = tf.variable(tf.tensor1d([1, 2, 3]));
    const before = tf.memory().numTensors;
    const { value: loss, grads } = tf.variableGrads(
      () => tf.sum(tf.add(tf.mul(x, 2), tf.square(detach(tf.mul(x, 3))))),
      [x],
    );
    // d/dx of 2x + (3x)^2 with the square's input detached is 2 everywhere.
    expect(Array.from(grads[x.name]!.dataSync())).toEqual([2, 2, 2]);
    tf.dispose([loss, ...Object.values(grads)]);
    expect(tf.memory().numTensors).toBe(before);
    const y = tf.tensor1d([4, 5]);
    const d = detach(y);
    expect(Array.from(d.dataSync())).toEqual([4, 5]);
    d.dispose();
    expect(Array.from(y.dataSync())).toEqual([4, 5]); // disposing the handle keeps the original
  });

  test('nothing upstream of a detached tensor runs in the backward pass', async () => {
    const x = tf.variable(tf.randomNormal([1, 8, 8, 2]));
    const w = tf.variable(tf.randomNormal([3, 3, 2, 2]));
    const backpropKernels = async (f: () => tf.Scalar) => {
      const profile = await tf.profile(() => {
        const { value: loss, grads } = tf.variableGrads(f, [x, w]);
        tf.dispose([loss, ...Object.values(grads)]);
      });
      return profile.kernels.filter((k) => k.name.startsWith('Conv2DBackprop')).length;
    };
    const conv = () => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same');
    expect(await backpropKernels(() => tf.sum(conv()))).toBe(2); // input and filter gradients
    expect(await backpropKernels(() => tf.add(tf.sum(tf.mul(x, 2)), tf.sum(detach(conv()))))).toBe(
      0,
    );
  });
});

test('paper loss weights are the defaults', () => {
  expect(PAPER_LOSS_WEIGHTS).toMatchObject({
    featureMatching: 10,
    embeddingMatch: 80,
    vgg19: 1e-2,
    vggface: 2e-3,
  });
});
