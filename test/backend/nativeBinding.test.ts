/**
 * @jest-environment ./test/helpers/hostTypedArraysEnvironment.js
 */
import { onnx } from 'onnx-proto';
import { loadOrtBinding, PINNED_ORT_VERSION } from '../../src/backend/native/ortBinding';
import { OpSessions } from '../../src/backend/native/opSessions';
import { pointwiseGraph } from '../../src/backend/native/opGraphs';

// The native backend runs onnxruntime-node's native session object directly, below its public
// API. These tests fail loudly when an upgrade changes that surface.

test('onnxruntime-node is the pinned version', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pkg = require('onnxruntime-node/package.json') as { version: string };
  expect(pkg.version).toBe(PINNED_ORT_VERSION);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const own = require('../../package.json') as { dependencies: Record<string, string> };
  expect(own.dependencies['onnxruntime-node']).toBe(PINNED_ORT_VERSION);
});

test('the binding loads, and runs a session synchronously into a preallocated output', () => {
  const ort = loadOrtBinding();
  const graph = pointwiseGraph([[4]], [4], (b, [x]) => b.node('Relu', [x!]));
  const session = ort.newSession();
  const { bytes } = graph;
  session.loadModel(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength, {
    intraOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  const out = new Float32Array(4);
  const returned = session.run(
    { in0: new ort.Tensor('float32', Float32Array.from([-1, 2, -3, 4]), [4]) },
    { y: new ort.Tensor('float32', out, [4]) },
    {},
  );
  // No promise: run returned with the output already written.
  expect(typeof (returned as { then?: unknown }).then).toBe('undefined');
  expect(Array.from(out)).toEqual([0, 2, 0, 4]);
  session.dispose();
});

test('a load with a bad module, or another version, is a clear error', () => {
  const wrongVersion = (name: string) =>
    name.endsWith('package.json') ? { version: '0.0.1' } : {};
  expect(() => loadOrtBinding(wrongVersion)).toThrow(/0\.0\.1 is installed/);
  const missing = (name: string) => {
    throw new Error(`Cannot find module '${name}'`);
  };
  expect(() => loadOrtBinding(missing)).toThrow(/Cannot find module/);
});

test('OpSessions caches by key, evicts the least recently used, and resets on a thread change', () => {
  const ops = new OpSessions(1, undefined, 2);
  const relu = () => pointwiseGraph([[3]], [3], (b, [x]) => b.node('Relu', [x!]));
  const neg = () => pointwiseGraph([[3]], [3], (b, [x]) => b.node('Neg', [x!]));
  const x = Float32Array.from([-1, 0, 2]);
  expect(Array.from(ops.run('relu', relu, [x]))).toEqual([0, 0, 2]);
  expect(Array.from(ops.run('neg', neg, [x]))).toEqual([1, -0, -2]);
  ops.run('relu', relu, [x]);
  expect(ops.created).toBe(2);
  ops.run('abs', () => pointwiseGraph([[3]], [3], (b, [v]) => b.node('Abs', [v!])), [x]);
  expect(ops.size).toBe(2);
  ops.run('relu', relu, [x]); // still cached: 'neg' was the least recently used
  expect(ops.created).toBe(3);
  ops.threads = 2;
  expect(ops.size).toBe(0);
  expect(() => (ops.threads = -1)).toThrow(/threads/);
  ops.clear();
  // The graph is an ordinary ONNX model.
  expect(onnx.ModelProto.decode(relu().bytes).graph?.node?.[0]?.opType).toBe('Relu');
});
