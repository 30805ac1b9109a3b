/**
 * @jest-environment ./test/helpers/hostTypedArraysEnvironment.js
 */
import * as tf from '@tensorflow/tfjs';
import { BufferPool, DEFAULT_POOL_BYTES } from '../../src/backend/native/bufferPool';
import {
  DEFAULT_MEMORY_LIMITS,
  memoryLimitsFromEnv,
  POOL_MIB_ENV_VAR,
  SESSION_MIB_ENV_VAR,
  SESSIONS_ENV_VAR,
} from '../../src/backend/native/memoryLimits';
import { nativeBackendInstance } from '../../src/backend/native/nativeBackend';
import { OpSessions } from '../../src/backend/native/opSessions';
import { pointwiseGraph } from '../../src/backend/native/opGraphs';
import { initBackend } from '../../src/backend/select';
import { UserError } from '../../src/errors';
import { seededTensor } from '../helpers/compare';

// What the native backend keeps between kernel calls (free arrays, onnxruntime sessions) has
// limits that hold however long a run goes, and evicting never changes a result.

beforeAll(async () => {
  await initBackend({ backend: 'native', threads: 1 });
});

afterAll(async () => {
  await tf.setBackend('cpu');
});

describe('BufferPool', () => {
  test('past its capacity it drops the arrays freed longest ago', () => {
    const pool = new BufferPool(3 * 400);
    const [a, b, c, d] = [pool.take(100), pool.take(100), pool.take(50), pool.take(100)];
    for (const array of [a!, b!, c!]) pool.give(array);
    expect(pool.bytes).toBe(1000);
    // d fits only once a goes: the oldest.
    pool.give(d!);
    expect(pool.bytes).toBe(1000);
    expect(pool.take(100)).toBe(d);
    expect(pool.take(100)).toBe(b);
    expect(pool.take(100)).not.toBe(a);
    expect(pool.take(50)).toBe(c);
    expect(pool.peakBytes).toBe(1000);
  });

  test('an array larger than the capacity is not kept; lowering it drops the oldest at once', () => {
    const pool = new BufferPool(400);
    pool.give(pool.take(101));
    expect(pool.bytes).toBe(0);
    const big = new BufferPool();
    expect(big.capacityBytes).toBe(DEFAULT_POOL_BYTES);
    const arrays = [big.take(10), big.take(20), big.take(30)];
    for (const array of arrays) big.give(array);
    big.capacityBytes = 4 * 30;
    expect(big.bytes).toBe(4 * 30);
    expect(big.take(30)).toBe(arrays[2]);
    expect(() => (big.capacityBytes = -1)).toThrow('capacity');
  });
});

describe('OpSessions', () => {
  /** An Add graph over n floats: a session of its own for each n. */
  const run = (ops: OpSessions, n: number) =>
    ops.run(
      `add${n}`,
      () => pointwiseGraph([[n], [n]], [n], (b, [x, y]) => b.node('Add', [x!, y!])),
      [new Float32Array(n).fill(1), new Float32Array(n).fill(2)],
    );

  test('keeps at most `capacity` sessions, least recently used dropped first', () => {
    const ops = new OpSessions(1, undefined, 3);
    for (const n of [10, 11, 12]) run(ops, n);
    run(ops, 10); // 11 is now the least recently used
    run(ops, 13);
    expect(ops.size).toBe(3);
    const created = ops.created;
    run(ops, 10);
    run(ops, 12);
    expect(ops.created).toBe(created);
    expect(run(ops, 11)[0]).toBe(3);
    expect(ops.created).toBe(created + 1);
    ops.capacity = 1;
    expect(ops.size).toBe(1);
    ops.clear();
  });

  test('keeps at most `capacityBytes` of graphs; the session just made always runs', () => {
    const ops = new OpSessions(1);
    run(ops, 10);
    const oneGraph = ops.modelBytes;
    ops.capacityBytes = 2.5 * oneGraph;
    for (let n = 11; n < 20; n++) {
      expect(run(ops, n)[n - 1]).toBe(3);
      expect(ops.modelBytes).toBeLessThanOrEqual(ops.capacityBytes);
    }
    expect(ops.size).toBe(2);
    ops.capacityBytes = 0;
    expect(ops.size).toBe(0);
    expect(ops.modelBytes).toBe(0);
    expect(run(ops, 30)[29]).toBe(3);
    ops.clear();
    expect(ops.modelBytes).toBe(0);
  });
});

describe('limits from the environment', () => {
  test('MiB and a session count; unset or empty keeps the defaults; bad values are usage errors', () => {
    expect(memoryLimitsFromEnv({})).toEqual(DEFAULT_MEMORY_LIMITS);
    expect(
      memoryLimitsFromEnv({
        [POOL_MIB_ENV_VAR]: '256',
        [SESSIONS_ENV_VAR]: '64',
        [SESSION_MIB_ENV_VAR]: ' ',
      }),
    ).toEqual({ ...DEFAULT_MEMORY_LIMITS, poolBytes: 256 * 2 ** 20, sessions: 64 });
    expect(memoryLimitsFromEnv({ [POOL_MIB_ENV_VAR]: '0' }).poolBytes).toBe(0);
    for (const [name, value] of [
      [POOL_MIB_ENV_VAR, '-1'],
      [POOL_MIB_ENV_VAR, '1.5'],
      [SESSIONS_ENV_VAR, '0'],
      [SESSION_MIB_ENV_VAR, 'lots'],
    ] as const) {
      expect(() => memoryLimitsFromEnv({ [name]: value })).toThrow(UserError);
      expect(() => memoryLimitsFromEnv({ [name]: value })).toThrow(name);
    }
  });
});

describe('a long run of small training steps', () => {
  /**
   * One step: two frozen filters used twice each (baked from the second use on, as L_CNT's
   * networks are), a trained one, at a size that changes from step to step.
   */
  function trainer() {
    const frozen = [seededTensor([3, 3, 8, 8], 1), seededTensor([3, 3, 8, 8], 2)] as tf.Tensor4D[];
    const w = tf.variable(seededTensor([3, 3, 4, 8], 3));
    const optimizer = tf.train.sgd(0.01);
    const step = (i: number) => {
      const size = 12 + (i % 5) * 2;
      const x = seededTensor([2, size, size, 4], 10 + i) as tf.Tensor4D;
      const loss = optimizer.minimize(() => {
        const features = (image: tf.Tensor4D) =>
          frozen.reduce((h, f) => tf.relu(tf.conv2d(h, f, 1, 'same')), image);
        const h = tf.conv2d(x, w as tf.Tensor4D, 1, 'same');
        const target = features(tf.reverse(h, 2));
        return tf.mean(tf.abs(tf.sub(features(h), target))) as tf.Scalar;
      }, true)!;
      const value = loss.dataSync()[0]!;
      tf.dispose([loss, x]);
      return value;
    };
    return {
      step,
      dispose: () => {
        tf.dispose([...frozen, w]);
        optimizer.dispose();
      },
    };
  }

  const STEPS = 30;

  test('the pool and the session cache stay within their limits, with the same losses', () => {
    const backend = nativeBackendInstance()!;
    const run = () => {
      const t = trainer();
      const losses = Array.from({ length: STEPS }, (_, i) => t.step(i));
      t.dispose();
      return losses;
    };
    backend.ops.clear();
    backend.pool.peakBytes = backend.pool.bytes;
    const free = run();
    const unbounded = { poolPeak: backend.pool.peakBytes, sessions: backend.ops.size };
    const saved = {
      pool: backend.pool.capacityBytes,
      sessions: backend.ops.capacity,
      sessionBytes: backend.ops.capacityBytes,
    };
    try {
      const limits = { pool: 64 * 1024, sessions: 8, sessionBytes: 8 * 1024 };
      // Without limits this run keeps more than that.
      expect(unbounded.poolPeak).toBeGreaterThan(limits.pool);
      expect(unbounded.sessions).toBeGreaterThan(limits.sessions);
      backend.pool.capacityBytes = limits.pool;
      backend.ops.capacity = limits.sessions;
      backend.ops.capacityBytes = limits.sessionBytes;
      backend.pool.peakBytes = backend.pool.bytes;
      const created = backend.ops.created;
      const t = trainer();
      const bounded: number[] = [];
      for (let i = 0; i < STEPS; i++) {
        bounded.push(t.step(i));
        expect(backend.pool.bytes).toBeLessThanOrEqual(limits.pool);
        expect(backend.ops.size).toBeLessThanOrEqual(limits.sessions);
        expect(backend.ops.modelBytes).toBeLessThanOrEqual(limits.sessionBytes);
      }
      t.dispose();
      expect(backend.pool.peakBytes).toBeLessThanOrEqual(limits.pool);
      // The limits did bite: sessions were dropped and made again.
      expect(backend.ops.created - created).toBeGreaterThan(limits.sessions);
      expect(bounded).toEqual(free);
    } finally {
      backend.pool.capacityBytes = saved.pool;
      backend.ops.capacity = saved.sessions;
      backend.ops.capacityBytes = saved.sessionBytes;
    }
  });
});
