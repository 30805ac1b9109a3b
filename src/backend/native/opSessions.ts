import type { BufferPool } from './bufferPool';
import { loadOrtBinding, type OrtBinding, type OrtNativeSession } from './ortBinding';
import type { OpGraph } from './opGraphs';

interface CachedOp {
  session: OrtNativeSession;
  graph: OpGraph;
}

/** Sessions kept at once; a training run uses a few hundred (op, shape) pairs at most. */
const DEFAULT_CAPACITY = 1024;

/**
 * onnxruntime sessions for single-op graphs, one per (op, shapes, attributes) key, made on first
 * use and kept (least recently used dropped past `capacity`). Runs are synchronous and write
 * straight into a Float32Array of this JS realm (from `pool` where given).
 */
export class OpSessions {
  private readonly ort: OrtBinding;
  private readonly cache = new Map<string, CachedOp>();
  private threadCount: number;
  /** Sessions made and graphs run so far, for tests and profiling. */
  created = 0;
  runs = 0;
  /** Runs by the kernel name that starts each key. */
  readonly runsByKernel = new Map<string, number>();

  constructor(
    threads: number,
    private readonly pool?: BufferPool,
    private readonly capacity = DEFAULT_CAPACITY,
  ) {
    this.ort = loadOrtBinding();
    this.threadCount = threads;
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
    op.graph.inputs.forEach((io, i) => {
      feeds[io.name] = new Tensor('float32', inputs[i]!, io.shape);
    });
    const { name, shape } = op.graph.output;
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
    const op = { session, graph };
    this.cache.set(key, op);
    while (this.cache.size > this.capacity) {
      const [oldest, dropped] = this.cache.entries().next().value as [string, CachedOp];
      this.cache.delete(oldest);
      dropped.session.dispose();
    }
    return op;
  }

  /** Disposes the session `key` names, if there is one. */
  drop(key: string): void {
    const op = this.cache.get(key);
    if (!op) return;
    this.cache.delete(key);
    op.session.dispose();
  }

  clear(): void {
    for (const op of this.cache.values()) op.session.dispose();
    this.cache.clear();
  }
}
