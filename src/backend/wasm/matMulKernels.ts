import * as tf from '@tensorflow/tfjs';
import type { KernelArgs } from '../kernels/kernelCalls';
import type { WasmHeapBackend } from './heap';

/**
 * tfjs-wasm's BatchMatMul and _FusedMatMul, called with inputs that keep two of their defects
 * (tfjs-backend-wasm 4.22, src/cc/batch_mat_mul_impl.cc) out of reach:
 *
 * - Stale packed b. A product with neither side transposed and batch 1 ([m, k] x [k, n]) runs
 *   XNNPACK's fully-connected operator, which packs b once and is cached under (b's data id,
 *   bias's data id, activation) only: not b's shape. The entry goes when that data id is freed.
 *   tf.reshape keeps the data id, so the same data as b again in another [k, n] ran with the first
 *   [k, n]'s packing: wrong values, NaNs, or writes past the output that corrupt the wasm heap.
 *   A b whose data was packed in another shape therefore goes in as a copy, with a new data id.
 * - _FusedMatMul's bias. The XNNPACK path reads n bias values whatever the bias's size, and the
 *   other path (any transpose or batch) indexes the bias by row * n + column, clamped to its last
 *   value. A bias of another size goes in tiled to the size the path reads.
 */

/** The backend's data id for each of its tensors: a new object per allocation, never reused. */
type DataId = object;

interface WasmBackend extends WasmHeapBackend {
  disposeData(dataId: DataId): boolean;
}

const NAMES = ['BatchMatMul', '_FusedMatMul'] as const;

/** tfjs-wasm's own kernels, which ours run: kept when ours are first registered over them. */
const shipped = new Map<string, tf.KernelConfig>();

/**
 * The [k, n] each b data id was first packed in. Ours pass that data id in no other [k, n], so
 * every operator cached under it has this packing.
 */
const packedAs = new WeakMap<DataId, string>();

const batchOf = (t: tf.TensorInfo) => tf.util.sizeFromShape(t.shape.slice(0, -2));

/** A new data id holding t's values, tiled to `size` values (a flat tensor) when given. */
function copyOf(backend: WasmBackend, t: tf.TensorInfo, size?: number): tf.TensorInfo {
  const out = backend.makeOutput(size == null ? t.shape : [size], t.dtype);
  // Views after makeOutput: allocating may grow (and detach) the wasm heap.
  const to = backend.typedArrayFromHeap(out);
  const from = backend.typedArrayFromHeap(t);
  for (let i = 0; i < to.length; i += from.length) to.set(from, i);
  return out;
}

/** Whether b's data can go in as it is: packed as this same [k, n], or (recorded now) not yet. */
function packsAlike(b: tf.TensorInfo): boolean {
  const kn = b.shape.slice(-2).join('x');
  const packed = packedAs.get(b.dataId);
  if (packed === undefined) packedAs.set(b.dataId, kn);
  return packed === undefined || packed === kn;
}

function guarded(name: (typeof NAMES)[number]): tf.KernelFunc {
  return (args: KernelArgs) => {
    const kernel = shipped.get(name);
    if (kernel == null) throw new Error(`tfjs-backend-wasm's ${name} was not loaded before ours`);
    const backend = args.backend as WasmBackend;
    const { a, b, bias } = args.inputs as {
      a: tf.TensorInfo;
      b: tf.TensorInfo;
      bias?: tf.TensorInfo;
    };
    const { transposeA, transposeB } = args.attrs as unknown as tf.BatchMatMulAttrs;
    const xnnpack = !transposeA && !transposeB && batchOf(a) === 1 && batchOf(b) === 1;
    const inputs = { ...args.inputs };
    const copies: tf.TensorInfo[] = [];
    const copy = (t: tf.TensorInfo, size?: number) => {
      copies.push(copyOf(backend, t, size));
      return copies[copies.length - 1]!;
    };
    if (xnnpack && !packsAlike(b)) inputs.b = copy(b);
    if (bias != null) {
      const m = a.shape[a.shape.length - (transposeA ? 1 : 2)]!;
      const n = b.shape[b.shape.length - (transposeB ? 2 : 1)]!;
      const size = tf.util.sizeFromShape(bias.shape);
      const reads = xnnpack ? n : size === 1 ? 1 : m * n;
      if (size !== reads) inputs.bias = copy(bias, reads);
    }
    try {
      return kernel.kernelFunc({ inputs, attrs: args.attrs, backend }) as tf.TensorInfo;
    } finally {
      for (const t of copies) backend.disposeData(t.dataId);
    }
  };
}

export const WASM_MATMUL_KERNELS: readonly tf.KernelConfig[] = NAMES.map((name) => ({
  kernelName: name,
  backendName: 'wasm',
  // The shipped kernel binds its C function here; it is not registered when the backend starts.
  setupFunc: (backend: object) => {
    shipped.get(name)?.setupFunc?.(backend);
  },
  kernelFunc: guarded(name),
}));

/** Keeps tfjs-wasm's own matmul kernels for ours to run; call before registering ours. */
export function keepShippedWasmMatMul(): void {
  for (const ours of WASM_MATMUL_KERNELS) {
    const current = tf.getKernel(ours.kernelName, 'wasm');
    if (current != null && current.kernelFunc !== ours.kernelFunc) {
      shipped.set(ours.kernelName, current);
    }
  }
}
