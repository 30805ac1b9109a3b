/**
 * What the pool holds at most by default. Every free byte it keeps adds to a step's peak (the
 * backward pass frees far more than it takes back), and under the CLI's malloc settings a freed
 * array's memory stays mapped for the next allocation anyway: the pool spares that allocation
 * its zeroing. A paper step reuses 80 % of the bytes with this as with 2 GiB.
 */
export const DEFAULT_POOL_BYTES = 2 ** 28;

/**
 * Freed Float32Arrays kept by exact length for the next tensor of that size. A training step
 * makes the same shapes every step, and a new large array costs a page fault per 4 KiB touched
 * as the kernel first writes it.
 * At most `capacityBytes` are kept: past that the arrays freed longest ago go first, since the
 * next takes are more likely to want the lengths freed last (a backward pass retraces the forward
 * shapes in reverse).
 * Taken arrays hold stale values: every taker writes all of its elements.
 */
export class BufferPool {
  /** Free arrays by length, each list in the order given (oldest first). */
  private readonly free = new Map<number, Float32Array[]>();
  /** Every free array in the order given, oldest first: the order they are dropped in. */
  private readonly given = new Set<Float32Array>();
  /**
   * The buffers this pool handed out. Only those come back: arrays that kernels outside it
   * allocated (tfjs's own JS kernels) have lengths no take asks for again: pooling them grows
   * the pool by thousands of arrays a training step up to its capacity, and the GC's work and
   * every step's time with it.
   */
  private readonly issued = new WeakSet<ArrayBufferLike>();
  private heldBytes = 0;
  private capacity: number;
  /** Takes served from the pool and takes that allocated, for tests and profiling. */
  hits = 0;
  misses = 0;
  /** The most bytes held at once so far. */
  peakBytes = 0;

  constructor(capacityBytes = DEFAULT_POOL_BYTES) {
    this.capacity = checkedCapacity(capacityBytes);
  }

  get bytes(): number {
    return this.heldBytes;
  }

  /** The most free bytes kept; lowering it drops the oldest arrays at once. */
  get capacityBytes(): number {
    return this.capacity;
  }

  set capacityBytes(bytes: number) {
    this.capacity = checkedCapacity(bytes);
    this.shrinkTo(this.capacity);
  }

  /** A Float32Array of `length` elements, reused where one is free; its contents are stale. */
  take(length: number): Float32Array {
    const reused = this.free.get(length)?.pop();
    if (reused) {
      this.given.delete(reused);
      this.heldBytes -= reused.byteLength;
      this.hits++;
      return reused;
    }
    this.misses++;
    const array = new Float32Array(length);
    this.issued.add(array.buffer);
    return array;
  }

  /** Keeps `array` for a later take, dropping the oldest free arrays to stay within capacity. */
  give(array: Float32Array): void {
    if (array.length === 0 || array.byteLength > this.capacity || !this.issued.has(array.buffer))
      return;
    this.shrinkTo(this.capacity - array.byteLength);
    const list = this.free.get(array.length);
    if (list) list.push(array);
    else this.free.set(array.length, [array]);
    this.given.add(array);
    this.heldBytes += array.byteLength;
    this.peakBytes = Math.max(this.peakBytes, this.heldBytes);
  }

  /** Drops the oldest free arrays until at most `bytes` are held. */
  private shrinkTo(bytes: number): void {
    for (const oldest of this.given) {
      if (this.heldBytes <= bytes) return;
      this.given.delete(oldest);
      const list = this.free.get(oldest.length)!;
      // Each length's list is in the order given, so its oldest is first.
      list.shift();
      if (list.length === 0) this.free.delete(oldest.length);
      this.heldBytes -= oldest.byteLength;
    }
  }

  clear(): void {
    this.free.clear();
    this.given.clear();
    this.heldBytes = 0;
  }
}

function checkedCapacity(bytes: number): number {
  if (!Number.isFinite(bytes) || bytes < 0)
    throw new Error(`the pool's capacity must be a byte count >= 0, got ${bytes}`);
  return bytes;
}
