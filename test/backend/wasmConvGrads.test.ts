import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/select';
import {
  conv2dBackpropFilter,
  conv2dBackpropInput,
} from '../../src/backend/kernels/convGradientOps';
import { relativeError, runOnBackends, seededTensor } from '../helpers/compare';

type Pad = 'same' | 'valid' | tf.backend_util.ExplicitPadding;

interface ConvCase {
  batch: number;
  height: number;
  width: number;
  inChannels: number;
  outChannels: number;
  kernel: number;
  stride: number;
  pad: Pad;
}

const PADS: Pad[] = [
  'same',
  'valid',
  [
    [0, 0],
    [2, 1],
    [0, 3],
    [0, 0],
  ],
];
const SHAPES = [
  { batch: 1, height: 12, width: 12, inChannels: 4, outChannels: 3 },
  { batch: 2, height: 13, width: 16, inChannels: 3, outChannels: 5 },
];

const CASES: ConvCase[] = [];
for (const kernel of [1, 3, 9])
  for (const stride of [1, 2])
    for (const pad of PADS)
      for (const shape of SHAPES) CASES.push({ ...shape, kernel, stride, pad });

function describeCase(c: ConvCase): string {
  const pad = typeof c.pad === 'string' ? c.pad : JSON.stringify(c.pad);
  return `${c.batch}x${c.height}x${c.width}x${c.inChannels} k${c.kernel} s${c.stride} ${pad} -> ${c.outChannels}`;
}

function inputs(c: ConvCase) {
  const x = seededTensor([c.batch, c.height, c.width, c.inChannels], 1) as tf.Tensor4D;
  const filter = seededTensor([c.kernel, c.kernel, c.inChannels, c.outChannels], 2) as tf.Tensor4D;
  const outShape = tf.conv2d(x, filter, c.stride, c.pad).shape;
  const dy = seededTensor(outShape, 3) as tf.Tensor4D;
  return { x, filter, dy };
}

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});

describe('wasm Conv2DBackpropFilter and Conv2DBackpropInput match the cpu backend', () => {
  test.each(CASES.map((c) => [describeCase(c), c] as const))('%s', async (_name, c) => {
    const [cpu, wasm] = await runOnBackends(['cpu', 'wasm'], () => {
      const { x, filter, dy } = inputs(c);
      const dw = conv2dBackpropFilter(x, dy, filter.shape, c.stride, c.pad);
      const dx = conv2dBackpropInput(dy, filter, x.shape, c.stride, c.pad);
      return [dw, dx];
    });
    expect(relativeError(wasm![0]!, cpu![0]!)).toBeLessThan(1e-4);
    expect(relativeError(wasm![1]!, cpu![1]!)).toBeLessThan(1e-4);
    // A non-trivial gradient: guards against both sides returning zeros.
    expect(Math.max(...cpu![0]!.map(Math.abs))).toBeGreaterThan(0.1);
  });

  test('autodiff through conv2d uses them and matches cpu', async () => {
    const c = CASES.find((k) => k.kernel === 3 && k.stride === 2 && k.batch === 2)!;
    const [cpu, wasm] = await runOnBackends(['cpu', 'wasm'], () => {
      const { x, filter } = inputs(c);
      const loss = (a: tf.Tensor, w: tf.Tensor) =>
        tf
          .conv2d(a as tf.Tensor4D, w as tf.Tensor4D, c.stride, c.pad)
          .square()
          .sum();
      return tf.grads(loss)([x, filter]);
    });
    expect(relativeError(wasm![0]!, cpu![0]!)).toBeLessThan(1e-4);
    expect(relativeError(wasm![1]!, cpu![1]!)).toBeLessThan(1e-4);
  });

  test('leave no intermediate tensors on the wasm heap', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend();
    const c = CASES[CASES.length - 1]!;
    const { x, filter, dy } = inputs(c);
    const before = backend.numDataIds();
    const dw = conv2dBackpropFilter(x, dy, filter.shape, c.stride, c.pad);
    const dx = conv2dBackpropInput(dy, filter, x.shape, c.stride, c.pad);
    expect(backend.numDataIds()).toBe(before + 2);
    tf.dispose([dw, dx, x, filter, dy]);
  });
});
