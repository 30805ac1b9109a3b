import * as tf from '@tensorflow/tfjs';
import { detach, offTape } from '../../src/ops/detach';

beforeAll(async () => {
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
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

describe('offTape', () => {
  test('detached values, and nothing recorded on the tape', () => {
    const v = tf.variable(tf.tensor1d([1, 2, 3]));
    const tape = () =>
      (tf.engine() as unknown as { state: { activeTape: unknown[] } }).state.activeTape.length;
    let recorded = -1;
    const { value, grads } = tf.variableGrads(() => {
      const before = tape();
      const target = offTape(() => tf.square(tf.mul(v, 3)));
      recorded = tape() - before;
      return tf.sum(tf.add(tf.mul(v, 2), target)) as tf.Scalar;
    }, [v]);
    expect(recorded).toBe(0);
    expect(Array.from(grads[v.name]!.dataSync())).toEqual([2, 2, 2]);
    expect(value.dataSync()[0]).toBe(2 * 6 + 9 * 14);
    tf.dispose([value, v, ...Object.values(grads)]);
  });
});
