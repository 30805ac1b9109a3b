import type { BufferPool } from './bufferPool';
import { loadOrtBinding, type OrtBinding, type OrtNativeSession } from './ortBinding';
import type { OpGraph } from './opGraphs';

interface CachedOp {
  session: OrtNativeSession;
  /** The graph's inputs and output; its encoded bytes are not kept (onnxruntime has a copy). */
  io: Pick<OpGraph, 'inputs' | 'output'>;
  /** The encoded graph's size: about what onnxruntime keeps of it (a baked filter's values). */
  modelBytes: number;
}

/** Sessions kept at once; a training run uses a few hundred (op, shape) pairs at most. */
export const DEFAULT_SESSION_CAPACITY = 1024;

/**
 * Graph bytes kept at once, nearly all of them baked filters: the paper's training step bakes
 * its L_CNT networks' filters (184 MB, forward and input gradient), inference its generator's.
 */
export const DEFAULT_SESSION_CAPACITY_BYTES = 2 ** 29;

/**
 * onnxruntime sessions for single-op graphs, one per (op, shapes, attributes) key, made on first
 * use and kept; past `capacity` sessions or `capacityBytes` of graphs, the least recently used go.
 * Runs are synchronous and write straight into a Float32Array of this JS realm (from `pool` where
 * given).
 */
export class OpSessions {
  private readonly ort: OrtBinding;
  private readonly cache = new Map<string, CachedOp>();
  private threadCount: number;
  private heldModelBytes = 0;
  private sessionCapacity: number;
  private byteCapacity: number;
  /** Sessions made and graphs run so far, for tests and profiling. */
  created = 0;
  runs = 0;
  /** Runs by the kernel name that starts each key. */
  readonly runsByKernel = new Map<string, number>();

  constructor(
    threads: number,
    private readonly pool?: BufferPool,
    capacity = DEFAULT_SESSION_CAPACITY,
    capacityBytes = DEFAULT_SESSION_CAPACITY_BYTES,
  ) {
    this.ort = loadOrtBinding();
    this.threadCount = threads;
    this.sessionCapacity = checkedLimit('capacity', capacity, 1);
    this.byteCapacity = checkedLimit('capacityBytes', capacityBytes, 0);
  }

  /** The most sessions kept; lowering it drops the least recently used at once. */
  get capacity(): number {
    return this.sessionCapacity;
  }

  set capacity(n: number) {
    this.sessionCapacity = checkedLimit('capacity', n, 1);
    this.evict(0);
  }

  /** The most graph bytes kept; lowering it drops the least recently used at once. */
  get capacityBytes(): number {
    return this.byteCapacity;
  }

  set capacityBytes(bytes: number) {
    this.byteCapacity = checkedLimit('capacityBytes', bytes, 0);
    this.evict(0);
  }

  /** The graph bytes of the sessions kept. */
  get modelBytes(): number {
    return this.heldModelBytes;
  }

  /** Intra-op threads each session runs on; 0 lets onnxruntime use every physical core. */
  get threads(): number {
    return this.threadCount;
  }

  set threads(n: number) {
    if (!Number.isInteger(n) || n < 0) throw new Error(`threads must be an integer >= 0, got ${n}`);
    if (n === this.threadCount) return;
    this.threadCount = n;
    this.clear();
  }

  get size(): number {
    return this.cache.size;
  }

  /** Runs the graph `key` names (built by `build` the first time) on `inputs`, in its order. */
  run(key: string, build: () => OpGraph, inputs: readonly Float32Array[]): Float32Array {
    const op = this.get(key, build);
    const { Tensor } = this.ort;
    const feeds: Record<string, InstanceType<typeof Tensor>> = {};
    op.io.inputs.forEach((io, i) => {
      feeds[io.name] = new Tensor('float32', inputs[i]!, io.shape);
    });
    const { name, shape } = op.io.output;
    const length = shape.reduce((a, b) => a * b, 1);
    const out = this.pool ? this.pool.take(length) : new Float32Array(length);
    op.session.run(feeds, { [name]: new Tensor('float32', out, shape) }, {});
    this.runs++;
    const kernel = /^[A-Za-z_0-9]*/.exec(key)![0];
    this.runsByKernel.set(kernel, (this.runsByKernel.get(kernel) ?? 0) + 1);
    return out;
  }

  private get(key: string, build: () => OpGraph): CachedOp {
    const hit = this.cache.get(key);
    if (hit) {
      // Re-inserting keeps the Map in least-recently-used order.
      this.cache.delete(key);
      this.cache.set(key, hit);
      return hit;
    }
    const graph = build();
    const session = this.ort.newSession();
    const { bytes } = graph;
    session.loadModel(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength, {
      intraOpNumThreads: this.threadCount,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      // Each session would otherwise keep an arena sized by its largest run.
      enableCpuMemArena: false,
      // Every session has its own intra-op pool; spinning pools of hundreds of sessions starve
      // each other, so that a second thread makes a step slower instead of faster.
      extra: { session: { intra_op: { allow_spinning: '0' } } },
    });
    this.created++;
    // The new session stays even past the limits: it is about to run.
    this.evict(bytes.byteLength, 1);
    const op = {
      session,
      io: { inputs: graph.inputs, output: graph.output },
      modelBytes: bytes.byteLength,
    };
    this.cache.set(key, op);
    this.heldModelBytes += op.modelBytes;
    return op;
  }

  /**
   * Drops the least recently used sessions until `reserve` more graph bytes and `reserveCount`
   * more sessions fit within the limits.
   */
  private evict(reserve: number, reserveCount = 0): void {
    for (const key of this.cache.keys()) {
      const fits =
        this.cache.size + reserveCount <= this.sessionCapacity &&
        this.heldModelBytes + reserve <= this.byteCapacity;
      if (fits) return;
      this.drop(key);
    }
  }

  /** Disposes the session `key` names, if there is one. */
  drop(key: string): void {
    const op = this.cache.get(key);
    if (!op) return;
    this.cache.delete(key);
    this.heldModelBytes -= op.modelBytes;
    op.session.dispose();
  }

  clear(): void {
    for (const op of this.cache.values()) op.session.dispose();
    this.cache.clear();
    this.heldModelBytes = 0;
  }
}

function checkedLimit(name: string, value: number, least: number): number {
  if (!Number.isFinite(value) || value < least)
    throw new Error(`the session cache's ${name} must be a number >= ${least}, got ${value}`);
  return value;
}
