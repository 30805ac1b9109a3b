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
  /** A person's generator, frame by frame, at its image size (animate). */
  | { kind: 'generation'; imageSize: number };

/**
 * The smallest image size at which native generates frames faster than wasm (the layouts the
 * project trains: tiny's widths at 64 px, the shipped model's at 128, the paper's at 256;
 * docs/backends.md, "What auto picks").
 */
export const NATIVE_GENERATION_FROM_PX = 128;

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
    case 'generation':
      return workload.imageSize >= NATIVE_GENERATION_FROM_PX
        ? {
            order: ['native', 'wasm'],
            reason: `generation at ${workload.imageSize} px: native runs its convs faster`,
          }
        : {
            order: ['wasm', 'native'],
            reason: `generation at ${workload.imageSize} px (below ${NATIVE_GENERATION_FROM_PX}): its small ops run faster on wasm`,
          };
  }
}

/** What auto picks for each workload the CLI has, given the backends available. */
export function autoPicks(
  available: ReadonlySet<ConcreteBackend>,
): { workload: string; backend: ConcreteBackend | null; reason: string }[] {
  const workloads: [string, Workload][] = [
    ['training', { kind: 'training' }],
    ['faces', { kind: 'faces' }],
    ['generation-64', { kind: 'generation', imageSize: 64 }],
    ['generation-128', { kind: 'generation', imageSize: 128 }],
    ['generation-256', { kind: 'generation', imageSize: 256 }],
  ];
  return workloads.map(([name, workload]) => {
    const { order, reason } = cpuBackendOrder(workload);
    const gpuFirst: ConcreteBackend[] = ['tensorflow-gpu', 'tensorflow'];
    const backend = [...gpuFirst, ...order].find((b) => available.has(b)) ?? null;
    const why = gpuFirst.includes(backend as ConcreteBackend)
      ? 'tfjs-node is installed: TensorFlow runs every workload'
      : backend === order[0]
        ? reason
        : `${order[0]} is not available`;
    return { workload: name, backend, reason: why };
  });
}
