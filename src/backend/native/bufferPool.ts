/** What the pool holds at most by default: a paper-sized step's free activations fit. */
export const DEFAULT_POOL_BYTES = 2 ** 31;

/**
 * Freed Float32Arrays kept by exact length for the next tensor of that size. A training step
 * makes the same shapes every step, and a new large array costs a page fault per 4 KiB touched
 * as the kernel first writes it.
 * Taken arrays hold stale values: every taker writes all of its elements.
 */
export class BufferPool {
  private readonly free = new Map<number, Float32Array[]>();
  /**
   * The buffers this pool handed out. Only those come back: arrays that kernels outside it
   * allocated (tfjs's own JS kernels) have lengths no take asks for again: pooling them grows
   * the pool by thousands of arrays a training step up to its capacity, and the GC's work and
   * every step's time with it.
   */
  private readonly issued = new WeakSet<ArrayBufferLike>();
  private heldBytes = 0;
  /** Takes served from the pool and takes that allocated, for tests and profiling. */
  hits = 0;
  misses = 0;

  constructor(readonly capacityBytes = DEFAULT_POOL_BYTES) {}

  get bytes(): number {
    return this.heldBytes;
  }

  /** A Float32Array of `length` elements, reused where one is free; its contents are stale. */
  take(length: number): Float32Array {
    const reused = this.free.get(length)?.pop();
    if (reused) {
      this.heldBytes -= reused.byteLength;
      this.hits++;
      return reused;
    }
    this.misses++;
    const array = new Float32Array(length);
    this.issued.add(array.buffer);
    return array;
  }

  /** Keeps `array` for a later take, unless that would pass the capacity. */
  give(array: Float32Array): void {
    if (
      array.length === 0 ||
      !this.issued.has(array.buffer) ||
      this.heldBytes + array.byteLength > this.capacityBytes
    )
      return;
    const list = this.free.get(array.length);
    if (list) list.push(array);
    else this.free.set(array.length, [array]);
    this.heldBytes += array.byteLength;
  }

  clear(): void {
    this.free.clear();
    this.heldBytes = 0;
  }
}
