import type { ConcreteBackend } from './choices';

/**
 * What a command mostly runs, for `--backend auto` to choose between the two CPU backends by:
 * native (onnxruntime's kernels) wins on large convs and loses on many small ops, where each of
 * its kernel calls costs a session run and wasm's cost next to nothing.
 */
export type Workload =
  /** Meta-learning and fine-tuning: forward and backward passes of E, G and D. */
  | { kind: 'training' }
  /** face-api's detector and landmark net over video frames (preprocess, corpus, synth). */
  | { kind: 'faces' }
  /** A person's generator, frame by frame (animate): its image size and first block's width. */
  | { kind: 'generation'; imageSize: number; baseWidth: number };

/**
 * Where native starts generating frames faster than wasm, as image size x the first block's
 * width: the work of each op grows with both, the count of ops with neither. Measured on the
 * layouts below (docs/backends.md, "What auto picks"): 64 x 8, 128 x 8 and 64 x 16 ran faster on
 * wasm; 64 x 32, 128 x 32 and 256 x 64 on native.
 */
export const NATIVE_GENERATION_FROM = 2048;

/** Whether a generator of this size and width does enough work per op for native. */
export function generationSuitsNative(imageSize: number, baseWidth: number): boolean {
  return imageSize * baseWidth >= NATIVE_GENERATION_FROM;
}

export interface CpuBackendOrder {
  /** The CPU backends in the order auto tries them. */
  order: readonly ['native', 'wasm'] | readonly ['wasm', 'native'];
  /** Why, in words, for logs and `talking-heads backends`. */
  reason: string;
}

/** The order auto tries native and wasm in for `workload` (tfjs-node comes before both). */
export function cpuBackendOrder(workload: Workload = { kind: 'training' }): CpuBackendOrder {
  switch (workload.kind) {
    case 'training':
      return {
        order: ['native', 'wasm'],
        reason: 'training: native runs large convs and their gradients faster',
      };
    case 'faces':
      return {
        order: ['wasm', 'native'],
        reason: "face detection: face-api's small ops run faster on wasm",
      };
    case 'generation': {
      const layout = `generation at ${workload.imageSize} px from width ${workload.baseWidth}`;
      return generationSuitsNative(workload.imageSize, workload.baseWidth)
        ? { order: ['native', 'wasm'], reason: `${layout}: native runs its convs faster` }
        : {
            order: ['wasm', 'native'],
            reason: `${layout} (size x width below ${NATIVE_GENERATION_FROM}): its small ops run faster on wasm`,
          };
    }
  }
}

/** tfjs-node's builds, which auto tries before the CPU backends for every workload. */
const TENSORFLOW_FIRST: readonly ConcreteBackend[] = ['tensorflow-gpu', 'tensorflow'];

/** Every backend auto tries for `workload`, in order. */
export function autoCandidates(workload?: Workload): ConcreteBackend[] {
  return [...TENSORFLOW_FIRST, ...cpuBackendOrder(workload).order];
}

/** What auto picks for each workload the CLI has, given the backends available. */
export function autoPicks(
  available: ReadonlySet<ConcreteBackend>,
): { workload: string; backend: ConcreteBackend | null; reason: string }[] {
  const workloads: [string, Workload][] = [
    ['training', { kind: 'training' }],
    ['faces', { kind: 'faces' }],
    // The layouts the project ships configs for: tiny, the demo's --from-scratch (tiny at 4x
    // widths), the shipped model's, the paper's.
    ['generation, 64 px x 8', { kind: 'generation', imageSize: 64, baseWidth: 8 }],
    ['generation, 64 px x 32', { kind: 'generation', imageSize: 64, baseWidth: 32 }],
    ['generation, 128 px x 32', { kind: 'generation', imageSize: 128, baseWidth: 32 }],
    ['generation, 256 px x 64', { kind: 'generation', imageSize: 256, baseWidth: 64 }],
  ];
  return workloads.map(([name, workload]) => {
    const { order, reason } = cpuBackendOrder(workload);
    const backend = autoCandidates(workload).find((b) => available.has(b)) ?? null;
    const why = TENSORFLOW_FIRST.includes(backend as ConcreteBackend)
      ? 'tfjs-node is installed: TensorFlow runs every workload'
      : backend === order[0]
        ? reason
        : `${order[0]} is not available`;
    return { workload: name, backend, reason: why };
  });
}
