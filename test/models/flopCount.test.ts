import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/select';
import { countFlops, kernelFlops } from '../../src/models/flopCount';

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});

/*
 * The reference counts are worked out by hand: 2 FLOPs per multiply-add, a conv output element
 * costs kh*kw*inC multiply-adds (the full window, padding included), a [M, K] x [K, N] product
 * M*N*K.
 */

test('a small conv + matmul net: the count matches the hand-worked one, term by term', async () => {
  const x = tf.ones([2, 8, 8, 3]) as tf.Tensor4D;
  const w1 = tf.ones([3, 3, 3, 4]) as tf.Tensor4D;
  const w2 = tf.ones([1, 1, 4, 5]) as tf.Tensor4D;
  const dense = tf.ones([80, 6]) as tf.Tensor2D;
  const head = tf.ones([7, 6]) as tf.Tensor2D;
  const count = await countFlops(() => {
    // 3x3 'same', 3 -> 4 channels on 2x8x8: 2*8*8*4 outputs x 3*3*3 = 13824 MACs.
    const h1 = tf.relu(tf.conv2d(x, w1, 1, 'same'));
    // 1x1 stride 2 'valid', 4 -> 5 channels: 2*4*4*5 outputs x 4 = 640 MACs.
    const h2 = tf.conv2d(h1, w2, 2, 'valid');
    // [2, 80] x [80, 6]: 2*6*80 = 960 MACs.
    const h3 = tf.matMul(tf.reshape(h2, [2, 80]), dense);
    // [2, 6] x [7, 6]^T: 2*7*6 = 84 MACs.
    return tf.matMul(h3, head, false, true);
  });
  expect(count.calls.map((c) => [c.kernel, c.flops])).toEqual([
    ['Conv2D', 2 * 13824],
    ['Conv2D', 2 * 640],
    ['BatchMatMul', 2 * 960],
    ['BatchMatMul', 2 * 84],
  ]);
  expect(count.total).toBe(2 * (13824 + 640 + 960 + 84));
  expect(count.byKernel).toEqual({ Conv2D: 2 * (13824 + 640), BatchMatMul: 2 * (960 + 84) });
  tf.dispose([x, w1, w2, dense, head]);
});

test('batched and transposed products, depthwise and fused convs', async () => {
  const a = tf.ones([3, 4, 5]);
  const b = tf.ones([3, 5, 2]);
  const aT = tf.ones([5, 4]) as tf.Tensor2D;
  const b2 = tf.ones([5, 2]) as tf.Tensor2D;
  const xd = tf.ones([1, 6, 6, 2]) as tf.Tensor4D;
  const wd = tf.ones([3, 3, 2, 2]) as tf.Tensor4D;
  const xf = tf.ones([1, 5, 5, 2]) as tf.Tensor4D;
  const wf = tf.ones([3, 3, 2, 3]) as tf.Tensor4D;
  const bias = tf.ones([3]);
  const count = await countFlops(() => [
    tf.matMul(a, b), // 3 x [4, 5] x [5, 2]: 3*4*2*5 = 120 MACs
    tf.matMul(aT, b2, true, false), // [5, 4]^T x [5, 2]: 4*2*5 = 40 MACs
    tf.depthwiseConv2d(xd, wd, 1, 'same'), // 6*6*(2*2) outputs x 3*3 = 1296 MACs
    tf.fused.conv2d({ x: xf, filter: wf, strides: 1, pad: 'same', bias, activation: 'relu' }), // 5*5*3 x 3*3*2 = 1350 MACs
  ]);
  expect(count.calls.map((c) => c.flops)).toEqual([240, 80, 2592, 2700]);
  tf.dispose([a, b, aT, b2, xd, wd, xf, wf, bias]);
});

test("a conv's two gradients each cost what the forward conv does", async () => {
  const x = tf.ones([2, 8, 8, 3]) as tf.Tensor4D;
  const w = tf.ones([3, 3, 3, 4]) as tf.Tensor4D;
  const count = await countFlops(() =>
    tf.grads((xx: tf.Tensor, ww: tf.Tensor) =>
      tf.sum(tf.conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, 1, 'same')),
    )([x, w]),
  );
  expect(count.byKernel).toEqual({
    Conv2D: 2 * 13824,
    Conv2DBackpropInput: 2 * 13824,
    Conv2DBackpropFilter: 2 * 13824,
  });
  tf.dispose([x, w]);
});

test('kernels that are not convs or products count 0', () => {
  expect(kernelFlops('Relu', [[2, 3]], [[2, 3]])).toBe(0);
  expect(
    kernelFlops(
      'AddV2',
      [
        [2, 3],
        [2, 3],
      ],
      [[2, 3]],
    ),
  ).toBe(0);
});
