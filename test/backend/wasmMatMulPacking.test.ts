import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { replaceKernels } from '../../src/backend/kernels/replaceKernels';
import { initBackend } from '../../src/backend/select';
import { SNDense } from '../../src/models/layers/snDense';
import { setReferenceOps } from '../../src/ops/opsMode';
import { relativeError, runOnBackends, seededTensor } from '../helpers/compare';

// tfjs-wasm's BatchMatMul and _FusedMatMul cache XNNPACK's packing of b under b's data id, not
// its shape, and tf.reshape keeps the data id (src/backend/wasm/matMulKernels.ts): each case
// below uses the same data as b in two shapes, and must match the cpu backend.

let shippedBatchMatMul: tf.KernelConfig;

beforeAll(async () => {
  shippedBatchMatMul = tf.getKernel('BatchMatMul', 'wasm')!;
  await initBackend({ backend: 'wasm' });
});

afterAll(() => setReferenceOps(false));

async function expectWasmMatchesCpu(compute: () => tf.Tensor | tf.Tensor[]): Promise<void> {
  const [cpu, wasm] = await runOnBackends(['cpu', 'wasm'], compute);
  wasm!.forEach((values, i) => expect(relativeError(values, cpu![i]!)).toBeLessThan(1e-5));
}

/** Spectral norm's u: [6, 1] in the power iteration, [1, 6] in an outer product. */
function columnThenRow(): tf.Tensor {
  const u = seededTensor([6, 1], 1);
  tf.matMul(seededTensor([4, 6], 2), u);
  return tf.matMul(seededTensor([5, 1], 3), tf.reshape(u, [1, 6]));
}

test('the shipped kernel still packs b by data id alone (if not, the guard can go)', async () => {
  const ours = tf.getKernel('BatchMatMul', 'wasm')!;
  const [cpu] = await runOnBackends(['cpu'], columnThenRow);
  replaceKernels([shippedBatchMatMul]);
  try {
    const [wasm] = await runOnBackends(['wasm'], columnThenRow);
    expect(relativeError(wasm![0]!, cpu![0]!)).not.toBeLessThan(1e-3);
  } finally {
    replaceKernels([ours]);
  }
});

describe('b whose data comes back in another shape', () => {
  test.each<[string, () => tf.Tensor]>([
    ['[6, 1], then [1, 6] (stale values)', columnThenRow],
    [
      // Unguarded, the second product writes 2 x 4 values into its 2 x 3 output.
      '[3, 4], then [4, 3] (heap overrun)',
      () => {
        const b = seededTensor([3, 4], 4);
        tf.matMul(seededTensor([2, 3], 5), b);
        return tf.matMul(seededTensor([2, 4], 6), tf.reshape(b, [4, 3]));
      },
    ],
    [
      '[1, 3, 4], then [4, 3]: batch 1 packs as well',
      () => {
        const b = seededTensor([1, 3, 4], 4);
        tf.matMul(seededTensor([1, 2, 3], 5), b);
        return tf.matMul(seededTensor([2, 4], 6), tf.reshape(b, [4, 3]));
      },
    ],
    [
      'a matMul, then a fused matMul (one cache)',
      () => {
        const b = seededTensor([3, 4], 4);
        tf.matMul(seededTensor([2, 3], 5), b);
        return tf.fused.matMul({ a: seededTensor([2, 4], 6), b: tf.reshape(b, [4, 3]) });
      },
    ],
    [
      "tf.outerProduct's own reshape",
      () => {
        const u = seededTensor([6], 1);
        tf.matMul(seededTensor([4, 6], 2), tf.reshape(u, [6, 1]));
        return tf.outerProduct(seededTensor([5], 3) as tf.Tensor1D, u as tf.Tensor1D);
      },
    ],
    [
      'the first shape again after another',
      () => {
        const b = seededTensor([3, 4], 4);
        tf.matMul(seededTensor([2, 3], 5), b);
        tf.matMul(seededTensor([2, 4], 6), tf.reshape(b, [4, 3]));
        return tf.matMul(seededTensor([5, 3], 7), b);
      },
    ],
  ])('%s', (_name, compute) => expectWasmMatchesCpu(compute));

  test('the copies it takes are freed', async () => {
    await tf.setBackend('wasm');
    const before = tf.backend().numDataIds();
    tf.dispose(tf.tidy(columnThenRow));
    expect(tf.backend().numDataIds()).toBe(before);
  });
});

// A bias other than n values: the shipped XNNPACK path reads n values whatever its size, and the
// other path adds bias[min(row * n + column, size - 1)].
describe("_FusedMatMul's bias broadcast", () => {
  test.each<[string, () => tf.Tensor]>([
    [
      '[n] with b transposed, 3 rows',
      () =>
        tf.fused.matMul({
          a: seededTensor([3, 5], 1) as tf.Tensor2D,
          b: seededTensor([4, 5], 2) as tf.Tensor2D,
          transposeB: true,
          bias: seededTensor([4], 3),
        }),
    ],
    [
      '[n] with a batch of 2',
      () =>
        tf.fused.matMul({
          a: seededTensor([2, 3, 5], 1) as tf.Tensor3D,
          b: seededTensor([2, 5, 4], 2) as tf.Tensor3D,
          bias: seededTensor([4], 3),
          activation: 'relu',
        }),
    ],
    [
      '[1], untransposed',
      () =>
        tf.fused.matMul({
          a: seededTensor([3, 5], 1) as tf.Tensor2D,
          b: seededTensor([5, 4], 2) as tf.Tensor2D,
          bias: seededTensor([1], 3),
        }),
    ],
  ])('%s', (_name, compute) => expectWasmMatchesCpu(compute));
});

// With reference ops, σ = vᵀ·W·u packs the new u as an [out, 1] b, and the layer stores that
// data as its u: one training call, the gradient of another call, then u as a [1, out] b.
test.each([false, true])('spectral norm (reference ops %s) on wasm matches cpu', (reference) => {
  setReferenceOps(reference);
  return expectWasmMatchesCpu(() => {
    const layer = new SNDense({ units: 6, seed: 2 });
    layer.build([3, 5]);
    const x = seededTensor([3, 5], 4);
    const first = layer.call(x, { training: true });
    const kernel = layer.namedWeights().get('kernel')!.read() as tf.Variable;
    const r = seededTensor([3, 6], 5);
    const { value, grads } = tf.variableGrads(
      () => tf.sum(tf.mul(layer.call(x, {}), r)) as tf.Scalar,
      [kernel],
    );
    const u = layer.namedWeights().get('u')!.read() as tf.Tensor1D;
    const outer = tf.outerProduct(seededTensor([4], 6) as tf.Tensor1D, u);
    const outputs = [first, value, grads[kernel.name]!, tf.clone(u), outer];
    layer.dispose();
    return outputs;
  });
});
