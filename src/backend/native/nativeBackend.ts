import * as tf from '@tensorflow/tfjs';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { BufferPool } from './bufferPool';
import { DEFAULT_FILTER_GRADIENT_BLOCK_BYTES } from './filterGradientTaps';
import { memoryLimitsFromEnv, type NativeMemoryLimits } from './memoryLimits';
import { OpSessions } from './opSessions';

/** tfjs's name for this backend. */
export const NATIVE_BACKEND = 'native';

/** The most a chunk's patch matrix holds: a whole K = 8 batch's (hundreds of MB) is no faster. */
export const DEFAULT_FILTER_GRADIENT_PATCH_BYTES = 32 * 2 ** 20;

/**
 * Convs from this many multiply-adds bake their filter on first use: above it (E's K = 8 shapes)
 * making the session and running it once costs less than one run with the filter as an input;
 * well below it, more.
 */
export const BAKE_ON_FIRST_USE_MACS = 2 ** 33;

type DataId = object;
type BackendValues = ReturnType<MathBackendCPU['readSync']>;

/**
 * The cpu backend's storage (plain JS typed arrays: no wasm heap, so no 4 GiB cap) and its
 * kernels for the light work, with the heavy kernels run by onnxruntime's MLAS through
 * single-op sessions (nativeKernels.ts).
 *
 * Kernel outputs go back to a BufferPool when their last tensor is disposed. An array is only
 * recycled while nothing outside this backend can hold it: arrays that came in from outside
 * (tf.tensor(values), moves) or went out (readSync, so dataSync and data) are never reused, and
 * views sharing one ArrayBuffer (the cpu Slice's subarrays) are counted together.
 *
 * The pool and the session cache are bounded (`limits`, by default from the environment:
 * memoryLimits.ts); both can be changed later through `pool.capacityBytes`, `ops.capacity` and
 * `ops.capacityBytes`.
 */
export class NativeBackend extends MathBackendCPU {
  readonly ops: OpSessions;
  readonly pool: BufferPool;
  /** The most patch-matrix bytes one filter-gradient run may take (convKernels.ts). */
  filterGradientPatchBytes = DEFAULT_FILTER_GRADIENT_PATCH_BYTES;
  /** The x and dy bytes one tap-GEMM filter-gradient run covers (filterGradientTaps.ts). */
  filterGradientBlockBytes = DEFAULT_FILTER_GRADIENT_BLOCK_BYTES;
  /** Live data entries over each kernel-made buffer. */
  private readonly bufferRefs = new Map<ArrayBufferLike, number>();
  /** Buffers that code outside this backend may hold. */
  private readonly foreign = new WeakSet<ArrayBufferLike>();
  private kernelWrites = 0;
  /** Filters each kind of conv kernel has seen: a second use bakes it in (convKernels.ts). */
  private readonly filterUses = new Map<string, WeakSet<DataId>>();
  /** Session keys with a baked filter, by the filter's data: dropped when it is disposed. */
  private readonly bakedSessions = new Map<DataId, string[]>();

  constructor(threads: number, limits: NativeMemoryLimits = memoryLimitsFromEnv(process.env)) {
    super();
    this.pool = new BufferPool(limits.poolBytes);
    this.ops = new OpSessions(threads, this.pool, limits.sessions, limits.sessionBytes);
  }

  /** A float32 array for a kernel's output, reused from the pool; its contents are stale. */
  outputArray(length: number): Float32Array {
    return this.pool.take(length);
  }

  /**
   * Whether a conv kernel of this kind should run with the filter `dataId` baked into its
   * session: when it had this filter before (inference reuses every filter frame after frame,
   * where a training step uses each once forward and once backward), or when the conv is big
   * enough that the session pays for itself in one run.
   */
  shouldBake(kind: string, dataId: DataId, macs: number): boolean {
    let seen = this.filterUses.get(kind);
    if (!seen) this.filterUses.set(kind, (seen = new WeakSet()));
    const again = seen.has(dataId);
    seen.add(dataId);
    return again || macs >= BAKE_ON_FIRST_USE_MACS;
  }

  /** The session key for `key`'s conv with the filter `dataId` baked in, kept until it goes. */
  bakedKey(dataId: DataId, key: string): string {
    const baked = `${key}#${(dataId as { id: number }).id}`;
    const keys = this.bakedSessions.get(dataId);
    if (!keys) this.bakedSessions.set(dataId, [baked]);
    else if (!keys.includes(baked)) keys.push(baked);
    return baked;
  }

  /** A tensor's values for a kernel to read, without marking them as handed out. */
  hostValues(dataId: DataId): BackendValues {
    return this.data.get(dataId)!.values as BackendValues;
  }

  override makeTensorInfo(
    shape: number[],
    dtype: tf.DataType,
    values?: BackendValues | string[],
  ): tf.TensorInfo {
    this.kernelWrites++;
    try {
      return super.makeTensorInfo(shape, dtype, values);
    } finally {
      this.kernelWrites--;
    }
  }

  override write(values: BackendValues, shape: number[], dtype: tf.DataType): DataId {
    const buffer = bufferOf(values);
    if (buffer) {
      if (this.kernelWrites > 0)
        this.bufferRefs.set(buffer, (this.bufferRefs.get(buffer) ?? 0) + 1);
      else this.foreign.add(buffer);
    }
    return super.write(values, shape, dtype);
  }

  override move(
    dataId: DataId,
    values: BackendValues,
    shape: number[],
    dtype: tf.DataType,
    refCount: number,
  ): void {
    const buffer = bufferOf(values);
    if (buffer) this.foreign.add(buffer);
    super.move(dataId, values, shape, dtype, refCount);
  }

  override readSync(dataId: DataId): BackendValues {
    const buffer = this.data.has(dataId) ? bufferOf(this.hostValues(dataId)) : undefined;
    if (buffer) this.foreign.add(buffer);
    return super.readSync(dataId);
  }

  // Kernels read their inputs through bufferSync and keep nothing of them.
  override bufferSync<R extends tf.Rank, D extends tf.DataType>(
    t: tf.TensorInfo,
  ): tf.TensorBuffer<R, D> {
    if (t.dtype === 'string') return super.bufferSync(t);
    const values = this.hostValues(t.dataId) as never;
    return tf.buffer(t.shape as never, t.dtype, values) as tf.TensorBuffer<R, D>;
  }

  override disposeData(dataId: DataId, force = false): boolean {
    const values = this.data.has(dataId) ? this.hostValues(dataId) : undefined;
    const released = super.disposeData(dataId, force);
    // Still referenced (refCount > 0), or never this backend's: nothing more goes.
    if (this.data.has(dataId) || values === undefined) return released;
    this.dropBakedSessions(dataId);
    const buffer = bufferOf(values);
    if (buffer) this.releaseBuffer(buffer);
    return released;
  }

  /** Disposes the sessions that have this data baked in as a filter. */
  private dropBakedSessions(dataId: DataId): void {
    const baked = this.bakedSessions.get(dataId);
    if (!baked) return;
    this.bakedSessions.delete(dataId);
    for (const key of baked) this.ops.drop(key);
  }

  /** One data entry less over a kernel-made buffer; the last gives it to the pool. */
  private releaseBuffer(buffer: ArrayBufferLike): void {
    const refs = this.bufferRefs.get(buffer);
    if (refs == null) return;
    if (refs > 1) {
      this.bufferRefs.set(buffer, refs - 1);
      return;
    }
    this.bufferRefs.delete(buffer);
    if (!this.foreign.has(buffer) && buffer.byteLength % 4 === 0 && buffer instanceof ArrayBuffer)
      this.pool.give(new Float32Array(buffer));
  }

  override dispose(): void {
    this.ops.clear();
    this.pool.clear();
    this.bufferRefs.clear();
    this.bakedSessions.clear();
    super.dispose();
  }
}

/** The ArrayBuffer under a typed array of values (none for string tensors). */
function bufferOf(values: unknown): ArrayBufferLike | undefined {
  return ArrayBuffer.isView(values) ? values.buffer : undefined;
}

/** The native backend's instance, once tfjs has made it. */
export function nativeBackendInstance(): NativeBackend | undefined {
  const backend = tf.findBackend(NATIVE_BACKEND);
  return backend instanceof NativeBackend ? backend : undefined;
}
