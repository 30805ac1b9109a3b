/**
 * @jest-environment ./test/helpers/hostTypedArraysEnvironment.js
 */
import * as vm from 'node:vm';
import * as tf from '@tensorflow/tfjs';
import { ADAM_UPDATE } from '../../src/backend/kernels/adamUpdate';
import { nativeBackendInstance } from '../../src/backend/native/nativeBackend';
import { initBackend } from '../../src/backend/select';
import { leakyReluGradient } from '../../src/ops/leakyRelu';
import { rankOneUpdate } from '../../src/ops/rankOneUpdate';

// A float32 tensor's storage on the cpu backend, which native inherits, is not always a
// Float32Array of this realm: the cpu Cast to float32 shares its int32 or bool input's Int32Array
// or Uint8Array, and values can come from another realm or as a view into a larger buffer.
// Every kernel the native backend overrides is run here on each such storage and must give
// exactly what it gives on a plain Float32Array of the same values. Face-api's landmark net once
// sent an Int32Array to Sub: onnxruntime refused it and animate died half-way through a driver.

beforeAll(async () => {
  await initBackend({ backend: 'native', threads: 1 });
});

afterAll(async () => {
  await tf.setBackend('cpu');
});

const X = [1, 32, 32, 16];
const W = [3, 3, 16, 16];

/** Small integers (exact in every storage): 1..8, or 0/1 where the storage is bool's. */
function integers(count: number, seed: number, bits = false): number[] {
  return Array.from({ length: count }, (_, i) => {
    const r = ((i + 1) * 2654435761 + seed * 97) % 4093;
    return bits ? r % 2 : 1 + (r % 8);
  });
}

/** A float32 tensor of the native backend over exactly this storage. */
function fromStorage(values: tf.backend_util.BackendValues, shape: number[]): tf.Tensor {
  const backend = tf.backend();
  const dataId = backend.write(values, shape, 'float32');
  return tf.engine().makeTensorFromDataId(dataId, shape, 'float32', backend);
}

interface Storage {
  name: string;
  /** A float32 tensor with this storage, and the values it holds. */
  make(shape: number[], seed: number): { tensor: tf.Tensor; values: number[] };
  /** The storage class the tensor must really have (the test is void otherwise). */
  holds: string;
}

const OtherRealmFloat32Array = vm.runInNewContext('Float32Array') as Float32ArrayConstructor;

const STORAGES: Storage[] = [
  {
    name: 'Int32Array, from a Cast of an int32 tensor',
    holds: 'Int32Array',
    make: (shape, seed) => {
      const values = integers(sizeOf(shape), seed);
      return { tensor: tf.cast(tf.tensor(values, shape, 'int32'), 'float32'), values };
    },
  },
  {
    name: 'Uint8Array, from a Cast of a bool tensor',
    holds: 'Uint8Array',
    make: (shape, seed) => {
      const values = integers(sizeOf(shape), seed, true);
      return { tensor: tf.cast(tf.tensor(values, shape, 'bool'), 'float32'), values };
    },
  },
  {
    name: 'Float32Array of another realm',
    holds: 'Float32Array',
    make: (shape, seed) => {
      const values = integers(sizeOf(shape), seed);
      return { tensor: fromStorage(new OtherRealmFloat32Array(values), shape), values };
    },
  },
  {
    name: 'Float32Array view at an offset into a larger buffer',
    holds: 'Float32Array',
    make: (shape, seed) => {
      const values = integers(sizeOf(shape), seed);
      const buffer = new Float32Array(values.length + 11);
      buffer.set(values, 5);
      return { tensor: fromStorage(buffer.subarray(5, 5 + values.length), shape), values };
    },
  },
];

const sizeOf = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

type Op = (...inputs: tf.Tensor[]) => tf.Tensor | tf.Tensor[];

/** A case: the kernels it exercises, its inputs' shapes, and whether onnxruntime must run. */
interface Case {
  name: string;
  shapes: number[][];
  op: Op;
  onnx: boolean;
}

const adam = (w: tf.Tensor, m: tf.Tensor, v: tf.Tensor, g: tf.Tensor) =>
  tf.engine().runKernel(ADAM_UPDATE, { value: w, m, v, gradient: g }, {
    learningRate: 1e-3,
    beta1: 0.9,
    beta2: 0.999,
    epsilon: 1e-8,
    correction1: 0.1,
    correction2: 0.001,
  } as unknown as tf.NamedAttrMap) as tf.Tensor[];

const conv = (x: tf.Tensor, w: tf.Tensor) =>
  tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same');

const CASES: Case[] = [
  ...(
    [
      ['Relu', tf.relu],
      ['Sqrt', tf.sqrt],
      ['Rsqrt', tf.rsqrt],
      ['Reciprocal', tf.reciprocal],
      ['Square', tf.square],
      ['Abs', tf.abs],
      ['Neg', tf.neg],
      ['Exp', tf.exp],
      ['Log', tf.log],
      ['Sigmoid', tf.sigmoid],
      ['Tanh', tf.tanh],
      ['Elu', tf.elu],
      ['LeakyRelu', (x: tf.Tensor) => tf.leakyRelu(x, 0.2)],
      ['Softmax', tf.softmax],
      ['Sum', (x: tf.Tensor) => tf.sum(x, [1, 2])],
      ['Mean', (x: tf.Tensor) => tf.mean(x, 3)],
      ['Max', (x: tf.Tensor) => tf.max(x, [0, 1])],
      ['Min', (x: tf.Tensor) => tf.min(x, 2)],
      ['AvgPool', (x: tf.Tensor) => tf.avgPool(x as tf.Tensor4D, 2, 2, 'valid')],
      ['ResizeBilinear', (x: tf.Tensor) => tf.image.resizeBilinear(x as tf.Tensor4D, [64, 64])],
    ] as [string, (x: tf.Tensor) => tf.Tensor][]
  ).map(([name, op]) => ({ name, shapes: [X], op, onnx: true })),
  ...(
    [
      ['Add', tf.add],
      ['Sub', tf.sub],
      ['Multiply', tf.mul],
      ['RealDiv', tf.div],
      ['Maximum', tf.maximum],
      ['Minimum', tf.minimum],
      ['SquaredDifference', tf.squaredDifference],
      ['AddN', (a: tf.Tensor, b: tf.Tensor) => tf.addN([a, b, a])],
    ] as [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor][]
  ).map(([name, op]) => ({ name, shapes: [X, X], op, onnx: true })),
  { name: 'Add with a broadcast row', shapes: [[4, 16], [16]], op: tf.add, onnx: false },
  { name: 'Sum of a small tensor', shapes: [[4, 16]], op: (x) => tf.sum(x, 0), onnx: false },
  { name: 'Conv2D', shapes: [X, W], op: conv, onnx: true },
  {
    name: 'Conv2DBackpropInput and Conv2DBackpropFilter',
    shapes: [X, W],
    op: (x, w) => tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(conv(a, b)))([x!, w!]),
    onnx: true,
  },
  {
    name: 'FusedConv2D',
    shapes: [X, W, [16]],
    op: (x, w, b) =>
      tf.fused.conv2d({
        x: x as tf.Tensor4D,
        filter: w as tf.Tensor4D,
        strides: 1,
        pad: 'same',
        bias: b,
        activation: 'relu',
      }),
    onnx: true,
  },
  {
    name: 'DepthwiseConv2dNative',
    shapes: [X, [3, 3, 16, 1]],
    op: (x, w) => tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'),
    onnx: true,
  },
  {
    name: 'BatchMatMul',
    shapes: [
      [256, 64],
      [64, 64],
    ],
    op: (a, b) => tf.matMul(a!, b!),
    onnx: true,
  },
  {
    name: '_FusedMatMul',
    shapes: [[256, 64], [64, 64], [64]],
    op: (a, b, bias) => tf.fused.matMul({ a: a!, b: b!, bias, activation: 'relu' }),
    onnx: true,
  },
  {
    name: 'AvgPoolGrad',
    shapes: [X],
    op: (x) => tf.grad((a: tf.Tensor) => tf.sum(tf.avgPool(a as tf.Tensor4D, 3, 2, 'same')))(x!),
    onnx: false,
  },
  {
    name: 'MaxPoolGrad',
    shapes: [X],
    op: (x) => tf.grad((a: tf.Tensor) => tf.sum(tf.maxPool(a as tf.Tensor4D, 2, 2, 'valid')))(x!),
    onnx: false,
  },
  {
    name: 'ResizeBilinearGrad',
    shapes: [X],
    op: (x) =>
      tf.grad((a: tf.Tensor) => tf.sum(tf.image.resizeBilinear(a as tf.Tensor4D, [48, 40])))(x!),
    onnx: false,
  },
  {
    name: 'Slice',
    shapes: [X],
    op: (x) => tf.slice(x!, [0, 3, 0, 2], [1, 20, 32, 9]),
    onnx: false,
  },
  { name: 'SplitV', shapes: [X], op: (x) => tf.split(x!, [5, 11], 3), onnx: false },
  {
    name: 'Greater, GreaterEqual, Less and LessEqual',
    shapes: [X, X],
    op: (a, b) => [
      tf.greater(a!, b!),
      tf.greaterEqual(a!, 4),
      tf.less(a!, b!),
      tf.lessEqual(a!, 4),
    ],
    onnx: false,
  },
  {
    name: 'Select',
    shapes: [X, X],
    op: (a, b) => tf.where(tf.greater(a!, b!), a!, b!),
    onnx: false,
  },
  {
    name: 'TalkingHeadsLeakyReluGrad',
    shapes: [X, X],
    op: (dy, x) => leakyReluGradient(dy!, tf.sub(x!, 4), 0.2),
    onnx: false,
  },
  { name: 'TalkingHeadsAdamUpdate', shapes: [W, W, W, W], op: adam, onnx: false },
  {
    name: 'TalkingHeadsRankOneUpdate',
    shapes: [[48, 16], [48], [16], [], []],
    op: (x, p, q, a, b) => rankOneUpdate(x!, p!, q!, a as tf.Scalar, b as tf.Scalar),
    onnx: false,
  },
];

/** Each output's dtype and values. */
function outputsOf(result: tf.Tensor | tf.Tensor[]): { dtype: string; values: number[] }[] {
  const list = Array.isArray(result) ? result : [result];
  return list.map((t) => ({ dtype: t.dtype, values: Array.from(t.dataSync()) }));
}

describe.each(STORAGES.map((s) => [s.name, s] as const))('float32 stored as %s', (_, storage) => {
  test.each(CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const native = nativeBackendInstance()!;
    const made = c.shapes.map((shape, i) => storage.make(shape, i + 1));
    for (const { tensor } of made) {
      const held = native.hostValues(tensor.dataId) as object;
      expect(Object.prototype.toString.call(held)).toBe(`[object ${storage.holds}]`);
    }
    const plain = made.map(({ values }, i) => tf.tensor(values, c.shapes[i], 'float32'));
    const want = outputsOf(tf.tidy(() => c.op(...plain)));
    const runs = native.ops.runs;
    const got = outputsOf(tf.tidy(() => c.op(...made.map((m) => m.tensor))));
    if (c.onnx) expect(native.ops.runs).toBeGreaterThan(runs);
    expect(got).toEqual(want);
    tf.dispose([...plain, ...made.map((m) => m.tensor)]);
  });
});

describe('int32 and bool inputs give what the cpu backend gives', () => {
  const INT_CASES: [string, number[][], (...t: tf.Tensor[]) => tf.Tensor | tf.Tensor[]][] = [
    [
      'Add, Sub, Multiply, Maximum, Minimum, SquaredDifference',
      [X, X],
      (a, b) => [
        tf.add(a!, b!),
        tf.sub(a!, b!),
        tf.mul(a!, b!),
        tf.maximum(a!, b!),
        tf.minimum(a!, b!),
        tf.squaredDifference(a!, b!),
      ],
    ],
    ['AddN', [X, X], (a, b) => tf.addN([a!, b!, a!])],
    ['Relu, Abs, Neg, Square', [X], (x) => [tf.relu(x!), tf.abs(x!), tf.neg(x!), tf.square(x!)]],
    ['Sum, Max, Min', [X], (x) => [tf.sum(x!, [1, 2]), tf.max(x!, 3), tf.min(x!, 0)]],
    [
      'Slice and SplitV',
      [X],
      (x) => [tf.slice(x!, [0, 1, 2, 3], [1, 9, 8, 7]), ...tf.split(x!, 2, 1)],
    ],
    ['comparisons', [X, X], (a, b) => [tf.greater(a!, b!), tf.lessEqual(a!, 3)]],
    ['Select of int32 values', [X, X], (a, b) => tf.where(tf.greater(a!, b!), a!, b!)],
    [
      'Select of bool values',
      [X, X],
      (a, b) => tf.where(tf.greater(a!, b!), tf.less(a!, 3), tf.greater(b!, 5)),
    ],
    [
      'BatchMatMul',
      [
        [256, 64],
        [64, 64],
      ],
      (a, b) => tf.matMul(a!, b!),
    ],
  ];

  test.each(INT_CASES)('%s', async (_name, shapes, op) => {
    const run = async (backend: string) => {
      await tf.setBackend(backend);
      const inputs = shapes.map((s, i) => tf.tensor(integers(sizeOf(s), i + 1), s, 'int32'));
      const out = outputsOf(tf.tidy(() => op(...inputs)));
      tf.dispose(inputs);
      return out;
    };
    const want = await run('cpu');
    const got = await run('native');
    expect(got).toEqual(want);
  });
});
