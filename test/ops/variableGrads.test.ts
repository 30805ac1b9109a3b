import * as tf from '@tensorflow/tfjs';
import { detach, offTape } from '../../src/ops/detach';
import { leakyRelu } from '../../src/ops/leakyRelu';
import { setReferenceOps } from '../../src/ops/opsMode';
import { variableGrads } from '../../src/ops/variableGrads';
import { seededTensor } from '../helpers/compare';

// variableGrads runs tfjs's own backward pass, freeing each tensor once it is done with it: the
// same values bit for bit, nothing leaked, and less alive at once.

beforeAll(async () => {
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
});

afterEach(() => setReferenceOps(false));

/** Gradients as plain arrays, by variable name; disposes the tensors. */
function take(result: { value: tf.Scalar; grads: tf.NamedTensorMap }) {
  const grads = Object.fromEntries(
    Object.entries(result.grads).map(([name, g]) => [name, Array.from(g.dataSync())]),
  );
  const value = result.value.dataSync()[0];
  tf.dispose([result.value, ...Object.values(result.grads)]);
  return { value, grads };
}

describe('variableGrads', () => {
  let x: tf.Tensor4D;
  let w1: tf.Variable, w2: tf.Variable, b: tf.Variable, unused: tf.Variable;
  let variables: tf.Variable[];
  beforeAll(() => {
    x = seededTensor([2, 6, 6, 3], 1) as tf.Tensor4D;
    [w1, w2, b, unused] = [[3, 3, 3, 4], [3, 3, 4, 4], [4], [4]].map((shape, i) =>
      tf.variable(seededTensor(shape, i + 2)),
    ) as [tf.Variable, tf.Variable, tf.Variable, tf.Variable];
    variables = [w1, w2, b, unused];
  });

  /** A loss over most of what a backward pass meets. */
  const loss = (): tf.Scalar => {
    // Broadcasting, a custom gradient, a tensor used twice, a multi-output op, and every kernel
    // whose saved tensors go at once (their gradients read shapes only).
    const h = leakyRelu(tf.add(tf.conv2d(x, w1 as tf.Tensor4D, 1, 'same'), b), 0.2);
    const h2 = tf.conv2d(h as tf.Tensor4D, w2 as tf.Tensor4D, 1, 'same');
    const [left, right] = tf.split(tf.mul(h2, h), 2, 3);
    const target = detach(tf.relu(h2));
    // A gradient that hands its dy on as is: one tensor, the gradient of two.
    const handOn = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
      value: tf.clone(args[0] as tf.Tensor),
      gradFunc: (dy: tf.Tensor) => dy,
    }));
    const offPath = offTape(() => tf.sum(tf.square(tf.conv2d(x, w1 as tf.Tensor4D, 1, 'same'))));
    const pooled = tf.avgPool(tf.sub(h2, b) as tf.Tensor4D, 2, 2, 'valid');
    const cut = tf.slice(
      tf.pad(pooled, [
        [0, 0],
        [1, 1],
        [1, 1],
        [0, 0],
      ]),
      [0, 1, 0, 0],
      [-1, 3, 4, -1],
    );
    return tf.addN([
      tf.sum(tf.abs(tf.sub(h2, target))),
      tf.mean(tf.reshape(tf.mul(left!, right!), [-1])),
      tf.mul(offPath, 1e-3),
      tf.sum(tf.square(h)),
      tf.sum(tf.mul(handOn(h), h)),
      tf.sum(tf.mean(tf.square(tf.concat([cut, tf.mul(cut, cut)], 3)), [1, 2])),
    ]) as tf.Scalar;
  };

  test('the same value and gradients as tf.variableGrads, bit for bit, and no leak', () => {
    const want = take(tf.variableGrads(loss, variables) as never);
    const before = tf.memory().numTensors;
    const result = variableGrads(loss, variables);
    // The loss and one gradient per variable that has one (`unused` has none).
    expect(tf.memory().numTensors).toBe(before + 1 + 3);
    expect(Object.keys(result.grads)).not.toContain(unused.name);
    expect(take(result)).toEqual(want);
    expect(tf.memory().numTensors).toBe(before);
  });

  test('with reference ops, and nested in another gradient, it is tf.variableGrads', () => {
    const want = take(tf.variableGrads(loss, variables) as never);
    setReferenceOps(true);
    expect(take(variableGrads(loss, variables))).toEqual(
      take(tf.variableGrads(loss, variables) as never),
    );
    setReferenceOps(false);
    // Inside tf.grad the tape is the outer one's: left to tfjs.
    tf.grad((s: tf.Tensor) => {
      expect(take(variableGrads(loss, variables))).toEqual(want);
      return tf.mul(s, 2);
    })(tf.scalar(1)).dispose();
  });

  test('what an Add, a Mean or an average pool saves goes as soon as it is recorded', () => {
    // The first gradient to run, the probe's, counts the tensor data the forward pass left alive.
    const v = tf.variable(seededTensor([1, 32, 32, 16], 7));
    let aliveAtEnd = 0;
    const probe = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
      value: (args[0] as tf.Tensor).clone(),
      gradFunc: (dy: tf.Tensor) => {
        aliveAtEnd = tf.memory().numDataBuffers;
        return dy.clone();
      },
    }));
    // a and b (saved by Add), their sum (by AvgPool) and the pooled sum (by Mean).
    const f = (): tf.Scalar => {
      const sum = tf.add(tf.mul(v, 2), tf.mul(v, 3));
      return probe(tf.mean(tf.avgPool(sum as tf.Tensor4D, 2, 2, 'valid'))) as tf.Scalar;
    };
    const base = tf.memory().numDataBuffers;
    const alive = (run: () => { value: tf.Scalar; grads: tf.NamedTensorMap }) => {
      take(run());
      return aliveAtEnd - base;
    };
    // The same scalars either way; those four only in tfjs's.
    expect(alive(() => tf.variableGrads(f, [v]) as never)).toBe(
      alive(() => variableGrads(f, [v])) + 4,
    );
    v.dispose();
  });

  test('an intermediate and its gradient are freed once the backward pass is past them', () => {
    // A chain of intermediates after a probe whose gradient, the last run, counts the tensor data
    // alive: tfjs still holds every saved tensor and every intermediate gradient there.
    const v = tf.variable(seededTensor([64, 64], 6));
    let aliveAtProbe = 0;
    const probe = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
      value: (args[0] as tf.Tensor).clone(),
      gradFunc: (dy: tf.Tensor) => {
        aliveAtProbe = tf.memory().numDataBuffers;
        return dy.clone();
      },
    }));
    const chain = (): tf.Scalar => {
      let h = probe(v);
      for (let i = 0; i < 20; i++) h = tf.tanh(tf.mul(h, 1.01));
      return tf.sum(h);
    };
    const base = tf.memory().numDataBuffers;
    const alive = (run: () => { value: tf.Scalar; grads: tf.NamedTensorMap }) => {
      take(run());
      return aliveAtProbe - base;
    };
    const tfjs = alive(() => tf.variableGrads(chain, [v]) as never);
    const lean = alive(() => variableGrads(chain, [v]));
    // Each link's activation and output gradient, in tfjs's; a few in all here.
    expect(tfjs).toBeGreaterThanOrEqual(40);
    expect(lean).toBeLessThanOrEqual(4);
    v.dispose();
  });
});
