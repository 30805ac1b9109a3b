/**
 * @jest-environment ./test/helpers/hostTypedArraysEnvironment.js
 */
import * as tf from '@tensorflow/tfjs';
import { BufferPool } from '../../src/backend/native/bufferPool';
import { nativeBackendInstance } from '../../src/backend/native/nativeBackend';
import { initBackend } from '../../src/backend/select';

// The native backend recycles kernel outputs. A recycled array that anything else still holds
// would be silently overwritten: these tests hold arrays every way a user or a kernel can, and
// check that none of them changes while the pool does serve repeated shapes.

beforeAll(async () => {
  await initBackend({ backend: 'native', threads: 1 });
});

afterAll(async () => {
  await tf.setBackend('cpu');
});

/** A float tensor of `n` values a kernel made (Add on onnxruntime at this size). */
const made = (n: number, value: number) => tf.add(tf.fill([n], value), tf.scalar(0));
const N = 1 << 15;

test('BufferPool serves freed arrays by exact length, up to its capacity (the oldest go first)', () => {
  const pool = new BufferPool(3 * 4 * 100);
  const a = pool.take(100);
  expect(pool.misses).toBe(1);
  pool.give(a);
  expect(pool.take(99)).not.toBe(a);
  expect(pool.take(100)).toBe(a);
  expect(pool.hits).toBe(1);
  const taken = [a, pool.take(100), pool.take(100), pool.take(100)];
  for (const array of taken.slice(0, 3)) pool.give(array);
  // Past the capacity, the oldest goes.
  pool.give(taken[3]!);
  expect(pool.bytes).toBe(3 * 4 * 100);
  expect(pool.take(100)).toBe(taken[3]);
  pool.clear();
  expect(pool.bytes).toBe(0);
});

test('BufferPool takes back only arrays it handed out (a view of one counts), never foreign ones', () => {
  const pool = new BufferPool();
  pool.give(new Float32Array(100));
  expect(pool.bytes).toBe(0);
  const mine = pool.take(100);
  pool.give(new Float32Array(mine.buffer));
  expect(pool.bytes).toBe(400);
  expect(pool.take(100).buffer).toBe(mine.buffer);
});

test("step after step, the pool holds the same arrays: those of tfjs's JS kernels are never kept", () => {
  const backend = nativeBackendInstance()!;
  // Made by onnxruntime kernels (pooled) and by tfjs's JS kernels (not), as a step does.
  const step = () =>
    tf.tidy(() => {
      const x = made(N, 1);
      return tf.sum(tf.concat([tf.relu(x), tf.cumsum(x), tf.reverse(x)])).dataSync()[0];
    });
  for (let i = 0; i < 3; i++) step();
  const held = backend.pool.bytes;
  for (let i = 0; i < 20; i++) step();
  expect(backend.pool.bytes).toBe(held);
});

test('disposed kernel outputs are reused for the next output of their size', () => {
  const pool = nativeBackendInstance()!.pool;
  tf.tidy(() => made(N, 1));
  const hits = pool.hits;
  const again = made(N, 2);
  expect(pool.hits).toBeGreaterThan(hits);
  expect(again.dataSync()[N - 1]).toBe(2);
  again.dispose();
});

test('an array handed out by dataSync or data is never reused', async () => {
  const t = made(N, 3);
  const held = t.dataSync();
  t.dispose();
  const u = made(N, 4);
  const heldAsync = await u.data();
  u.dispose();
  for (let i = 0; i < 4; i++) tf.tidy(() => made(N, 9));
  expect(held.every((x) => x === 3)).toBe(true);
  expect((heldAsync as Float32Array).every((x) => x === 4)).toBe(true);
});

test("a user's array given to tf.tensor is never reused", () => {
  const mine = new Float32Array(N).fill(5);
  const t = tf.tensor1d(mine);
  tf.tidy(() => tf.reshape(t, [N / 2, 2]));
  t.dispose();
  for (let i = 0; i < 4; i++) tf.tidy(() => made(N, 9));
  expect(mine.every((x) => x === 5)).toBe(true);
});

test('views sharing a buffer (the cpu split) keep it until the last is disposed', () => {
  const whole = made(2 * N, 6);
  const [first, second] = tf.split(whole, 2, 0);
  whole.dispose();
  for (let i = 0; i < 4; i++) tf.tidy(() => made(2 * N, 9));
  expect(first!.dataSync().every((x) => x === 6)).toBe(true);
  first!.dispose();
  for (let i = 0; i < 4; i++) tf.tidy(() => made(2 * N, 9));
  expect(second!.dataSync().every((x) => x === 6)).toBe(true);
  second!.dispose();
});

test('a variable keeps its values across assigns while the pool recycles', () => {
  const v = tf.variable(made(N, 7));
  const before = v.clone();
  v.assign(made(N, 8));
  for (let i = 0; i < 4; i++) tf.tidy(() => made(N, 9));
  expect(before.dataSync().every((x) => x === 7)).toBe(true);
  expect(v.dataSync().every((x) => x === 8)).toBe(true);
  tf.dispose([v, before]);
});
