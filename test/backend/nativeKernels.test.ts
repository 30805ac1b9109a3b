/**
 * @jest-environment ./test/helpers/hostTypedArraysEnvironment.js
 */
import * as tf from '@tensorflow/tfjs';
import { placeOnGrid, tapBlocks } from '../../src/backend/native/filterGradientTaps';
import { nativeBackendInstance } from '../../src/backend/native/nativeBackend';
import { initBackend } from '../../src/backend/select';
import { relativeError, runOnBackends, seededTensor } from '../helpers/compare';

// Every onnxruntime kernel of the native backend against the cpu backend's own kernels (the
// reference: plain JS loops, registered by tfjs itself), over grids of shapes, strides, paddings
// and batch sizes. Each case also checks that onnxruntime really ran it: below MIN_NATIVE_MACS the
// native backend hands a call to the cpu kernel, which would make the comparison vacuous.

const TOLERANCE = 1e-4;

beforeAll(async () => {
  await initBackend({ backend: 'native', threads: 1 });
  await tf.setBackend('cpu');
});

afterAll(async () => {
  await tf.setBackend('cpu');
});

/**
 * Runs `compute` on cpu and native; returns the relative errors and native's session runs (of
 * the kernels named, or all of them).
 */
async function compare(
  compute: () => tf.Tensor[],
  kernels?: string[],
): Promise<{ errors: number[]; runs: number }> {
  const ops = nativeBackendInstance()!.ops;
  const count = () =>
    kernels ? kernels.reduce((n, k) => n + (ops.runsByKernel.get(k) ?? 0), 0) : ops.runs;
  const before = count();
  const [cpu, native] = await runOnBackends(['cpu', 'native'], compute);
  await tf.setBackend('cpu');
  return {
    errors: native!.map((values, i) => relativeError(values, cpu![i]!)),
    runs: count() - before,
  };
}

const CONVS = ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'];

type Pad =
  'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];

interface ConvCase {
  batch: number;
  size: [number, number];
  channels: [number, number];
  kernel: [number, number];
  stride: number;
  pad: Pad;
  dilation?: number;
}

const PADS: Pad[] = [
  'same',
  'valid',
  [
    [0, 0],
    [1, 2],
    [2, 0],
    [0, 0],
  ],
];

const CONV_CASES: ConvCase[] = [];
for (const batch of [1, 3])
  for (const kernel of [
    [1, 1],
    [3, 3],
    [4, 2],
    [9, 9],
  ] as [number, number][])
    for (const stride of [1, 2])
      for (const pad of PADS)
        CONV_CASES.push({
          batch,
          size: kernel[0] === 9 ? [20, 18] : [33, 32],
          channels: batch === 1 ? [16, 32] : [6, 16],
          kernel,
          stride,
          pad,
        });

// From 128 output channels the filter gradient is a GEMM over patches: the same grid, smaller.
for (const kernel of [
  [1, 1],
  [3, 3],
  [4, 2],
] as [number, number][])
  for (const stride of [1, 2])
    for (const pad of PADS)
      CONV_CASES.push({ batch: 2, size: [17, 16], channels: [5, 128], kernel, stride, pad });

// Few output positions next to the channels: the forward conv is a GEMM over patches.
for (const kernel of [
  [3, 3],
  [4, 2],
] as [number, number][])
  for (const stride of [1, 2])
    for (const pad of PADS)
      CONV_CASES.push({ batch: 1, size: [7, 6], channels: [48, 40], kernel, stride, pad });

const name = (c: ConvCase) =>
  `b${c.batch} ${c.size.join('x')} ${c.channels.join('->')} k${c.kernel.join('x')} s${c.stride} ` +
  `${typeof c.pad === 'string' ? c.pad : 'explicit'}${c.dilation ? ` d${c.dilation}` : ''}`;

function convInputs(c: ConvCase, seed: number) {
  const x = seededTensor([c.batch, ...c.size, c.channels[0]], seed) as tf.Tensor4D;
  const w = seededTensor([...c.kernel, ...c.channels], seed + 1) as tf.Tensor4D;
  return { x, w };
}

describe('Conv2D and both of its gradients match the cpu backend', () => {
  test.each(CONV_CASES.map((c) => [name(c), c] as const))('%s', async (_, c) => {
    const { x, w } = convInputs(c, 3);
    const conv = (a: tf.Tensor4D, b: tf.Tensor4D) => tf.conv2d(a, b, c.stride, c.pad);
    const upstream = seededTensor(conv(x, w).shape, 5);
    const { errors, runs } = await compare(() => {
      const y = conv(x, w);
      // d/dx and d/dw of sum(y * r): Conv2DBackpropInput and Conv2DBackpropFilter with dy = r.
      const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(conv(a as tf.Tensor4D, b as tf.Tensor4D), upstream)),
      )([x, w]);
      return [y, dx!, dw!];
    }, CONVS);
    // y, then tf.grads' own forward conv, Conv2DBackpropInput and Conv2DBackpropFilter.
    expect(runs).toBe(4);
    for (const e of errors) expect(e).toBeLessThan(TOLERANCE);
  });
});

test.each([
  ['the GEMM path', 128],
  ['the conv path', 10],
])('a strided filter gradient run in batch chunks (%s) matches the cpu backend', async (_, out) => {
  const backend = nativeBackendInstance()!;
  const budget = backend.filterGradientPatchBytes;
  // Stride 2 on 17x17 'same': 9x9 outputs, patches of one sample 9·9·9·3 floats, 8748 bytes;
  // two samples fit, three do not.
  backend.filterGradientPatchBytes = 20000;
  try {
    const x = seededTensor([5, 17, 17, 3], 47) as tf.Tensor4D;
    const dy = seededTensor([5, 9, 9, out], 48) as tf.Tensor4D;
    const attrs = { strides: [2, 2], pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 3, out] };
    const { errors, runs } = await compare(
      () => [tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs) as tf.Tensor],
      ['Conv2DBackpropFilter'],
    );
    // Chunks of 2, 2 and 1 samples.
    expect(runs).toBe(3);
    expect(errors[0]).toBeLessThan(TOLERANCE);
  } finally {
    backend.filterGradientPatchBytes = budget;
  }
});

describe('a stride-1 filter gradient by tap GEMMs in row blocks', () => {
  const cases: [string, Pad, [number, number]][] = [
    ['same', 'same', [3, 3]],
    ['valid', 'valid', [3, 3]],
    [
      'explicit, asymmetric',
      [
        [0, 0],
        [2, 0],
        [1, 3],
        [0, 0],
      ],
      [3, 3],
    ],
    ['same, even kernel', 'same', [4, 2]],
  ];
  test.each(cases)(
    '%s: matches the cpu backend over stale pooled grids',
    async (_, pad, kernel) => {
      const backend = nativeBackendInstance()!;
      const budget = backend.filterGradientBlockBytes;
      // (5 + 7) channels · 4 bytes a row: 100 rows a block, so several blocks per run.
      backend.filterGradientBlockBytes = 48 * 100;
      try {
        const x = seededTensor([3, 12, 11, 5], 49) as tf.Tensor4D;
        const conv = (a: tf.Tensor4D, w: tf.Tensor4D) => tf.conv2d(a, w, 1, pad);
        const w = seededTensor([...kernel, 5, 7], 50) as tf.Tensor4D;
        const dy = seededTensor(conv(x, w).shape, 51) as tf.Tensor4D;
        const info = tf.backend_util.computeConv2DInfo(x.shape, w.shape, 1, 1, pad);
        const { blocks, blockRows, gridRows, maxOffset } = tapBlocks(info, 4800);
        expect(blocks).toBeGreaterThan(2);
        // The grids and sums it takes from the pool, full of NaN: every value it reads must be one
        // it wrote.
        const rows = blocks * blockRows;
        for (const length of [
          (rows + maxOffset) * 5,
          Math.max(rows, gridRows) * 7,
          kernel[0] * kernel[1] * 35,
          kernel[0] * kernel[1] * 35,
        ])
          backend.pool.give(new Float32Array(length).fill(NaN));
        const attrs = { strides: [1, 1], pad, dataFormat: 'NHWC', filterShape: [...kernel, 5, 7] };
        const { errors, runs } = await compare(
          () => [tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs) as tf.Tensor],
          ['Conv2DBackpropFilter'],
        );
        expect(runs).toBe(blocks);
        expect(errors[0]).toBeLessThan(TOLERANCE);
      } finally {
        backend.filterGradientBlockBytes = budget;
      }
    },
  );
});

test('placeOnGrid puts values at their offset with zeros around, and zeros to the end', () => {
  const values = Float32Array.from([1, 2, 3, 4, 5, 6]); // [2 images, 1 x 3, 1 channel]
  const grid = new Float32Array(2 * 3 * 4 + 2).fill(NaN);
  placeOnGrid(values, [2, 1, 3, 1], grid, { top: 1, left: 1, height: 3, width: 4 });
  // prettier-ignore
  expect(Array.from(grid)).toEqual([
    0, 0, 0, 0,  0, 1, 2, 3,  0, 0, 0, 0,
    0, 0, 0, 0,  0, 4, 5, 6,  0, 0, 0, 0,
    0, 0,
  ]);
});

test.each([
  [1, [2, 19, 17, 6], 10],
  [2, [2, 19, 17, 6], 10],
  [3, [2, 19, 17, 6], 10],
  [2, [1, 9, 8, 32], 128], // as a patch GEMM
])('dilated Conv2D (rate %d, %j -> %d) matches the cpu backend', async (dilation, shape, out) => {
  const x = seededTensor(shape, 7) as tf.Tensor4D;
  const w = seededTensor([3, 3, shape[3]!, out], 8) as tf.Tensor4D;
  const { errors, runs } = await compare(
    () => [
      tf.conv2d(x, w, 1, 'same', 'NHWC', dilation),
      tf.conv2d(x, w, 1, 'valid', 'NHWC', dilation),
    ],
    CONVS,
  );
  expect(runs).toBe(2);
  for (const e of errors) expect(e).toBeLessThan(TOLERANCE);
});

test.each([
  ['3x3, stride 1, same, multiplier 1', 3, 1, 'same', 1],
  ['3x3, stride 2, same, multiplier 2', 3, 2, 'same', 2],
  ['5x5, stride 1, valid, multiplier 1', 5, 1, 'valid', 1],
] as const)('DepthwiseConv2dNative and its fused form, %s', async (_, k, stride, pad, m) => {
  const x = seededTensor([2, 33, 32, 16], 40) as tf.Tensor4D;
  const w = seededTensor([k, k, 16, m], 41) as tf.Tensor4D;
  const bias = seededTensor([16 * m], 42);
  const { errors, runs } = await compare(() => [
    tf.depthwiseConv2d(x, w, stride, pad),
    tf.fused.depthwiseConv2d({ x, filter: w, strides: stride, pad, bias, activation: 'relu' }),
  ]);
  expect(runs).toBe(2);
  for (const e of errors) expect(e).toBeLessThan(TOLERANCE);
});

describe('FusedConv2D with each activation matches the cpu backend', () => {
  const activations = ['linear', 'relu', 'relu6', 'elu', 'leakyrelu', 'sigmoid'] as const;
  test.each(activations)('%s', async (activation) => {
    const x = seededTensor([2, 16, 16, 8], 9) as tf.Tensor4D;
    const w = seededTensor([3, 3, 8, 12], 10) as tf.Tensor4D;
    const bias = seededTensor([12], 11);
    const { errors, runs } = await compare(() => [
      tf.fused.conv2d({
        x,
        filter: w,
        strides: 2,
        pad: 'same',
        bias,
        activation,
        leakyreluAlpha: 0.2,
      }),
      tf.fused.conv2d({ x, filter: w, strides: 1, pad: 'valid', activation, leakyreluAlpha: 0.3 }),
    ]);
    expect(runs).toBe(2);
    for (const e of errors) expect(e).toBeLessThan(TOLERANCE);
  });

  test('prelu runs on the cpu kernel and still matches', async () => {
    const x = seededTensor([1, 16, 16, 8], 12) as tf.Tensor4D;
    const w = seededTensor([3, 3, 8, 12], 13) as tf.Tensor4D;
    const alpha = seededTensor([12], 14);
    const { errors, runs } = await compare(() => [
      tf.fused.conv2d({
        x,
        filter: w,
        strides: 1,
        pad: 'same',
        activation: 'prelu',
        preluActivationWeights: alpha,
      }),
    ]);
    expect(runs).toBe(0);
    expect(errors[0]).toBeLessThan(TOLERANCE);
  });
});

describe('MatMul, BatchMatMul and _FusedMatMul match the cpu backend', () => {
  const cases: [string, number[], number[], boolean, boolean][] = [
    ['2-D', [64, 48], [48, 40], false, false],
    ['2-D, a transposed', [48, 64], [48, 40], true, false],
    ['2-D, b transposed', [64, 48], [40, 48], false, true],
    ['2-D, both transposed', [48, 64], [40, 48], true, true],
    ['batched', [3, 32, 40], [3, 40, 24], false, false],
    ['rank 4, a transposed', [2, 3, 40, 32], [2, 3, 40, 16], true, false],
  ];
  test.each(cases)('%s, and its gradients', async (_, aShape, bShape, transposeA, transposeB) => {
    const a = seededTensor(aShape, 15);
    const b = seededTensor(bShape, 16);
    const upstream = seededTensor(tf.matMul(a, b, transposeA, transposeB).shape, 17);
    const { errors, runs } = await compare(() => {
      const y = tf.matMul(a, b, transposeA, transposeB);
      const [da, db] = tf.grads((p: tf.Tensor, q: tf.Tensor) =>
        tf.sum(tf.mul(tf.matMul(p, q, transposeA, transposeB), upstream)),
      )([a, b]);
      return [y, da!, db!];
    });
    // The forward product and both gradients are products too.
    expect(runs).toBeGreaterThanOrEqual(3);
    for (const e of errors) expect(e).toBeLessThan(TOLERANCE);
  });

  // Forward only: tfjs's own BatchMatMul gradient does not sum over broadcast batch axes.
  test.each([
    ['broadcast a', [1, 32, 40], [4, 40, 24], false, false],
    ['broadcast b, b transposed', [4, 32, 40], [1, 24, 40], false, true],
    ['rank 4 against rank 3', [2, 3, 32, 40], [3, 40, 24], false, false],
  ] as [string, number[], number[], boolean, boolean][])(
    'batched, %s',
    async (_, aShape, bShape, transposeA, transposeB) => {
      const a = seededTensor(aShape, 27);
      const b = seededTensor(bShape, 28);
      const { errors, runs } = await compare(() => [tf.matMul(a, b, transposeA, transposeB)]);
      expect(runs).toBe(1);
      expect(errors[0]).toBeLessThan(TOLERANCE);
    },
  );

  test.each(['linear', 'relu', 'leakyrelu', 'sigmoid', 'elu', 'relu6'] as const)(
    'fused, %s, with a bias',
    async (activation) => {
      const a = seededTensor([64, 48], 18) as tf.Tensor2D;
      const b = seededTensor([40, 48], 19) as tf.Tensor2D;
      const bias = seededTensor([40], 20);
      const { errors, runs } = await compare(() => [
        tf.fused.matMul({ a, b, transposeB: true, bias, activation, leakyreluAlpha: 0.1 }),
      ]);
      expect(runs).toBe(1);
      expect(errors[0]).toBeLessThan(TOLERANCE);
    },
  );
});

test('calls below the size threshold run on the cpu kernels', async () => {
  const x = seededTensor([1, 4, 4, 2], 21) as tf.Tensor4D;
  const w = seededTensor([3, 3, 2, 2], 22) as tf.Tensor4D;
  const { errors, runs } = await compare(() => [
    tf.conv2d(x, w, 1, 'same'),
    tf.matMul(tf.reshape(x, [4, 8]), tf.reshape(x, [8, 4])),
  ]);
  expect(runs).toBe(0);
  for (const e of errors) expect(e).toBe(0);
});

test('one session per (op, shape, attributes): repeated calls reuse it', async () => {
  await tf.setBackend('native');
  const ops = nativeBackendInstance()!.ops;
  const x = seededTensor([1, 32, 32, 8], 23) as tf.Tensor4D;
  const w = seededTensor([3, 3, 8, 8], 24) as tf.Tensor4D;
  const other = seededTensor([3, 3, 8, 8], 124) as tf.Tensor4D;
  tf.tidy(() => tf.conv2d(x, w, 1, 'same'));
  const made = ops.created;
  // Another filter: the same session.
  tf.tidy(() => tf.conv2d(x, other, 1, 'same'));
  expect(ops.created).toBe(made);
  // w again: one session with w baked in, then reused.
  for (let i = 0; i < 3; i++) tf.tidy(() => tf.conv2d(x, w, 1, 'same'));
  expect(ops.created).toBe(made + 1);
  tf.tidy(() => tf.conv2d(x, other, 2, 'same'));
  expect(ops.created).toBe(made + 2);
  tf.dispose(other);
  await tf.setBackend('cpu');
});

/**
 * Runs `run` `rounds` times on native against its cpu result; checks that `added` sessions were
 * made, and that disposing the filter drops all but `kept` of them (the baked ones go with it).
 */
async function bakedFilterRounds(
  run: () => tf.Tensor[],
  filter: tf.Tensor,
  rounds: number,
  added: number,
  kept: number,
): Promise<void> {
  const ops = nativeBackendInstance()!.ops;
  const [cpu] = await runOnBackends(['cpu'], run);
  await tf.setBackend('native');
  const sessions = ops.size;
  const outs = Array.from({ length: rounds }, () => tf.tidy(run));
  expect(ops.size).toBe(sessions + added);
  for (const round of outs)
    round.forEach((t, i) => expect(relativeError(t.dataSync(), cpu![i]!)).toBeLessThan(TOLERANCE));
  tf.dispose(outs.flat());
  filter.dispose();
  expect(ops.size).toBe(sessions + kept);
  await tf.setBackend('cpu');
}

test('a filter used again is baked into its session, and that session goes with it', async () => {
  const x = seededTensor([1, 24, 24, 16], 125) as tf.Tensor4D;
  const w = seededTensor([3, 3, 16, 32], 126) as tf.Tensor4D;
  const bias = seededTensor([32], 127);
  // The first conv takes w as an input; the fused one and both of the next round have it baked.
  await bakedFilterRounds(
    () => [
      tf.conv2d(x, w, 1, 'same'),
      tf.fused.conv2d({ x, filter: w, strides: 1, pad: 'same', bias, activation: 'relu' }),
    ],
    w,
    2,
    3,
    1,
  );
  tf.dispose([x, bias]);
});

test('an input gradient whose filter comes again runs with it baked in', async () => {
  const dy = seededTensor([2, 20, 20, 24], 128) as tf.Tensor4D;
  const w = seededTensor([3, 3, 12, 24], 129) as tf.Tensor4D;
  const attrs = { inputShape: [2, 20, 20, 12], strides: [1, 1], pad: 'same', dataFormat: 'NHWC' };
  // The first run's session takes w as an input; the second makes one with it baked.
  await bakedFilterRounds(
    () => [tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, attrs) as tf.Tensor],
    w,
    3,
    2,
    1,
  );
  dy.dispose();
});

test('the tensor count stays flat across native kernel calls', async () => {
  await tf.setBackend('native');
  const x = seededTensor([2, 16, 16, 8], 25) as tf.Tensor4D;
  const w = seededTensor([3, 3, 8, 8], 26) as tf.Tensor4D;
  const counts: number[] = [];
  for (let i = 0; i < 3; i++) {
    tf.dispose(
      tf.tidy(() =>
        tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same')),
        )([x, w]),
      ),
    );
    counts.push(tf.memory().numTensors);
  }
  expect(counts[1]).toBe(counts[0]);
  expect(counts[2]).toBe(counts[0]);
  await tf.setBackend('cpu');
});

describe('pointwise kernels match the cpu backend', () => {
  const big = [2, 33, 32, 8];
  test.each([
    ['same shapes', big, big],
    ['per-channel', big, [8]],
    ['per-sample, per-channel (AdaIN)', big, [2, 1, 1, 8]],
    ['scalar', big, []],
    ['broadcast both ways', [2, 1, 32, 8], [1, 33, 1, 8]],
  ])('binary ops, %s', async (_, aShape, bShape) => {
    const a = seededTensor(aShape, 31);
    // Kept away from 0, so the quotient is well-conditioned.
    const b = tf.add(tf.abs(seededTensor(bShape, 32)), 0.5);
    const { errors, runs } = await compare(() => [
      tf.add(a, b),
      tf.sub(a, b),
      tf.sub(b, a),
      tf.mul(a, b),
      tf.div(a, b),
      tf.div(b, a),
      tf.maximum(a, b),
      tf.minimum(a, b),
      tf.squaredDifference(a, b),
    ]);
    expect(runs).toBe(9);
    for (const e of errors) expect(e).toBeLessThan(TOLERANCE);
  });

  test.each([
    ['per-channel', [2, 7, 6, 8], [8]],
    ['per-sample, per-channel', [2, 7, 6, 8], [2, 1, 1, 8]],
    ['broadcast both ways', [2, 1, 6, 8], [1, 7, 1, 8]],
    ['a row against a column', [5, 1], [1, 9]],
    ['scalar', [3, 4], []],
  ])('small broadcasts (JS loops): %s', async (_, aShape, bShape) => {
    const a = seededTensor(aShape, 43);
    const b = tf.add(tf.abs(seededTensor(bShape, 44)), 0.5);
    const { errors } = await compare(() => [
      tf.add(a, b),
      tf.sub(b, a),
      tf.mul(a, b),
      tf.div(a, b),
      tf.squaredDifference(a, b),
    ]);
    for (const e of errors) expect(e).toBeLessThan(1e-6);
  });

  test.each([
    [
      [2, 7, 6, 8],
      [1, 2],
    ],
    [
      [2, 7, 6, 8],
      [0, 3],
    ],
    [[2, 7, 6, 8], [3]],
    [
      [2, 7, 6, 8],
      [0, 1, 2, 3],
    ],
    [[300], [0]],
    [[5, 9], [0]],
  ])('small reductions (JS loops) of %j over %j', async (shape, axes) => {
    const x = seededTensor(shape, 46);
    const { errors, runs } = await compare(() =>
      [false, true].flatMap((keepDims) => [
        tf.sum(x, axes, keepDims),
        tf.mean(x, axes, keepDims),
        tf.max(x, axes, keepDims),
        tf.min(x, axes, keepDims),
      ]),
    );
    expect(runs).toBe(0);
    for (const e of errors) expect(e).toBeLessThan(1e-6);
  });

  test('unary ops, LeakyRelu, AddN and Softmax', async () => {
    const x = seededTensor([2, 33, 32, 8], 33);
    const positive = tf.add(tf.abs(x), 0.1);
    const { errors, runs } = await compare(() => [
      tf.relu(x),
      tf.sqrt(positive),
      tf.rsqrt(positive),
      tf.reciprocal(positive),
      tf.square(x),
      tf.abs(x),
      tf.neg(x),
      tf.exp(x),
      tf.log(positive),
      tf.sigmoid(x),
      tf.tanh(x),
      tf.elu(x),
      tf.leakyRelu(x, 0.2),
      tf.addN([x, positive, x]),
      tf.softmax(tf.reshape(x, [2, 1056, 8])),
      tf.softmax(tf.reshape(x, [2, 8, 1056])),
    ]);
    // tf.addN, and the positive input's abs and add, run on native too.
    expect(runs).toBeGreaterThanOrEqual(16);
    for (const e of errors) expect(e).toBeLessThan(TOLERANCE);
  });

  test.each([
    [[1, 2], false],
    [[1, 2], true],
    [[0, 3], false],
    [[3], true],
    [[0, 1, 2, 3], false],
  ])('Sum, Mean, Max and Min over axes %j (keepDims %s)', async (axes, keepDims) => {
    const x = seededTensor([2, 33, 32, 8], 34);
    const { errors, runs } = await compare(() => [
      tf.sum(x, axes, keepDims),
      tf.mean(x, axes, keepDims),
      tf.max(x, axes, keepDims),
      tf.min(x, axes, keepDims),
    ]);
    expect(runs).toBe(4);
    for (const e of errors) expect(e).toBeLessThan(TOLERANCE);
  });

  test.each([
    ['2x2, stride 2', 2, 2, 'valid'],
    ['3x3, stride 2, same', 3, 2, 'same'],
    ['3x3, stride 1, same', 3, 1, 'same'],
    ['2x2, stride 1, valid', 2, 1, 'valid'],
    // Windows that tile the input exactly: the gradient's store-only path.
    ['2x2, stride 2, tiling 32x32', 2, 2, 'valid', 32],
  ] as const)(
    'AvgPool, MaxPool and their gradients: %s',
    async (_, size, stride, pad, height: number = 33) => {
      const x = seededTensor([2, height, 32, 8], 35) as tf.Tensor4D;
      // All inputs negative in one sample: wasm's MaxPoolGrad goes wrong there.
      const shifted = tf.concat([tf.slice(x, [0], [1]), tf.sub(tf.slice(x, [1], [1]), 2)]);
      const avgPool = (a: tf.Tensor) => tf.avgPool(a as tf.Tensor4D, size, stride, pad);
      const maxPool = (a: tf.Tensor) => tf.maxPool(a as tf.Tensor4D, size, stride, pad);
      const [avg, max] = [avgPool(shifted), maxPool(shifted)].map((t) => seededTensor(t.shape, 36));
      const avgGrad = () => tf.grads((a: tf.Tensor) => tf.sum(tf.mul(avgPool(a), avg!)))([shifted]);
      const { errors } = await compare(() => {
        const [dMax] = tf.grads((a: tf.Tensor) => tf.sum(tf.mul(maxPool(a), max!)))([shifted]);
        return [avgPool(shifted), maxPool(shifted), dMax!, ...(pad === 'valid' ? avgGrad() : [])];
      });
      for (const e of errors) expect(e).toBeLessThan(TOLERANCE);
      // With padding the cpu kernel's AvgPoolGrad divides by the full window, where its forward
      // divides by the in-bounds count; so native's gradient is checked as the forward's adjoint:
      // <avgPool(x), w> = <x, avgPool'(w)>.
      await tf.setBackend('native');
      const [adjoint] = avgGrad();
      const viaGradient = tf.sum(tf.mul(shifted, adjoint!)).dataSync()[0]!;
      await tf.setBackend('cpu');
      const viaForward = tf.sum(tf.mul(avgPool(shifted), avg!)).dataSync()[0]!;
      expect(Math.abs(viaGradient - viaForward)).toBeLessThan(1e-4 * Math.abs(viaForward) + 1e-4);
    },
  );

  test("Step (ReLU's gradient) as the cpu kernel: 1 above 0, alpha at and below, NaN kept", async () => {
    const x = tf.concat([
      seededTensor([2, 33, 32, 8], 46).reshape([-1]),
      tf.tensor1d([0, -0, NaN, Infinity, -Infinity, 1e-30, -1e-30]),
    ]);
    const [cpu, native] = await runOnBackends(['cpu', 'native'], () => [
      tf.step(x),
      tf.step(x, 0.3),
      tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.relu(a), x)))(x),
    ]);
    await tf.setBackend('cpu');
    // Exactly, NaN where the cpu kernel has NaN (toEqual takes NaN as equal to NaN); the
    // gradient's products may differ in the sign of a zero (-0 x 0), which no later op tells apart.
    const exact = (values: Float32Array) => Array.from(values, (v) => (v === 0 ? 0 : v));
    for (let i = 0; i < 3; i++) expect(exact(native![i]!)).toEqual(exact(cpu![i]!));
  });

  test('MaxPool of 2x2 windows tiling the input: NaN never wins, as on cpu', async () => {
    const x = seededTensor([2, 32, 32, 8], 47).bufferSync();
    x.set(NaN, 0, 0, 0, 0);
    [0, 1].forEach((i) => [0, 1].forEach((j) => x.set(NaN, 1, i, j, 3)));
    const { errors, runs } = await compare(() => [
      tf.maxPool(x.toTensor() as tf.Tensor4D, 2, 2, 'valid'),
    ]);
    expect(runs).toBe(0);
    const [cpu, native] = await runOnBackends(['cpu', 'native'], () => [
      tf.maxPool(x.toTensor() as tf.Tensor4D, 2, 2, 'valid'),
    ]);
    await tf.setBackend('cpu');
    expect(Array.from(native![0]!)).toEqual(Array.from(cpu![0]!));
    expect(errors).toHaveLength(1);
  });

  test.each([
    ['half-pixel centres, x2', [32, 32], false, true],
    ['half-pixel centres, to 50x41', [50, 41], false, true],
    ['align corners', [64, 63], true, false],
    ['neither', [48, 40], false, false],
  ] as const)('ResizeBilinear, %s', async (_, size, alignCorners, halfPixelCenters) => {
    const x = seededTensor([2, 16, 15, 24], 45) as tf.Tensor4D;
    const { errors, runs } = await compare(
      () => [tf.image.resizeBilinear(x, [...size], alignCorners, halfPixelCenters)],
      ['ResizeBilinear'],
    );
    expect(runs).toBe(1);
    expect(errors[0]).toBeLessThan(TOLERANCE);
  });

  test('comparisons and Select', async () => {
    const x = seededTensor([2, 33, 32, 8], 38);
    const y = seededTensor([2, 33, 32, 8], 39);
    const rounded = tf.round(tf.mul(x, 3)); // ties, so >= and > differ
    const { errors } = await compare(() => [
      ...[tf.greater, tf.greaterEqual, tf.less, tf.lessEqual].flatMap((op) => [
        tf.cast(op(x, y), 'float32'),
        tf.cast(op(rounded, 0), 'float32'),
        tf.cast(op(x, tf.slice(y, [0, 0, 0, 0], [1, 33, 32, 8])), 'float32'),
      ]),
      tf.where(tf.greater(x, 0), x, y),
      tf.where(tf.greater(x, 0), x, tf.mul(y, 0.2)),
    ]);
    for (const e of errors) expect(e).toBe(0);
  });

  test('SplitV, on the channel axis and on the batch axis', async () => {
    const x = seededTensor([2, 33, 32, 8], 46);
    const { errors } = await compare(() => [...tf.split(x, [3, 5], 3), ...tf.split(x, 2, 0)]);
    expect(errors).toHaveLength(4);
    for (const e of errors) expect(e).toBe(0);
  });

  test.each([
    ['a batch item', [2, 33, 32, 8], [1, 0, 0, 0], [1, 33, 32, 8]],
    ['rows', [2, 33, 32, 8], [0, 5, 0, 0], [2, 20, 32, 8]],
    ['a window', [2, 33, 32, 8], [1, 3, 4, 2], [1, 10, 7, 5]],
    ['the last axis', [4, 300], [0, 100], [4, 150]],
    ['everything', [3, 7], [0, 0], [3, 7]],
    ['a 1-D range', [1000], [10], [500]],
  ])('Slice: %s', async (_, shape, begin, size) => {
    const x = seededTensor(shape, 37);
    const ints = tf.cast(tf.mul(x, 100), 'int32');
    const { errors } = await compare(() => [
      tf.slice(x, begin, size),
      tf.cast(tf.slice(ints, begin, size), 'float32'),
    ]);
    for (const e of errors) expect(e).toBe(0);
  });
});
