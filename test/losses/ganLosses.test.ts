import * as tf from '@tensorflow/tfjs';
import { discriminatorHingeLoss, generatorAdversarialLoss } from '../../src/losses/adversarial';
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

test('paper loss weights are the defaults', () => {
  expect(PAPER_LOSS_WEIGHTS).toMatchObject({
    featureMatching: 10,
    embeddingMatch: 80,
    vgg19: 1e-2,
    vggface: 2e-3,
  });
});
