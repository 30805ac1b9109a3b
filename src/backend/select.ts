import * as tf from '@tensorflow/tfjs';
import { UserError } from '../errors';
import { INSTALL_HINTS, resolveBackendChoice, type ConcreteBackend } from './choices';
import { registerCpuFastKernels } from './cpu/registerFastKernels';
import { silentLogger, type Logger } from '../log';
import { registerWasmTrainingKernels } from './wasm/registerTrainingKernels';
import { autoCandidates, cpuBackendOrder, type Workload } from './workload';

export interface BackendOptions {
  /** Requested backend; falls back to $TALKING_HEADS_BACKEND, then 'auto'. */
  backend?: string;
  /** wasm only: worker threads for XNNPACK (see wasm/threads.ts); 0 or 1 keeps one thread. */
  wasmThreads?: number;
  /** native only: onnxruntime's intra-op threads; 0 (the default) is one per physical core. */
  threads?: number;
  /** What the process will mostly run: 'auto' orders native and wasm by it (workload.ts). */
  workload?: Workload;
  log?: Logger;
  env?: NodeJS.ProcessEnv;
  /** Injection point for tests: how each optional native package is loaded. */
  loadModule?: (name: string) => unknown;
}

export interface BackendSelection {
  /** The backend this process now runs on. */
  name: ConcreteBackend;
  /** tfjs's own name for it ('tensorflow', 'wasm' or 'cpu'). */
  tfjsName: string;
  /** Why each backend tried before it was skipped, in order. */
  skipped: { name: ConcreteBackend; why: string }[];
}

class Unavailable extends Error {}

/** The native packages are optional dependencies: load them by name, only when asked for. */
function requireOptional(name: string): unknown {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(name);
}

function firstLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0]!.trim();
}

interface TensorflowBinding {
  isUsingGpuDevice?: () => boolean;
}

/** The GPU build loads on a machine without a GPU and silently runs on the CPU; ask the binding. */
function tensorflowUsesGpu(): boolean {
  const backend = tf.findBackend('tensorflow') as unknown as { binding?: TensorflowBinding } | null;
  return backend?.binding?.isUsingGpuDevice?.() ?? false;
}

async function tryTensorflow(
  name: 'tensorflow-gpu' | 'tensorflow',
  load: (m: string) => unknown,
  requireGpu: boolean,
): Promise<void> {
  const pkg = name === 'tensorflow-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
  if (tf.findBackend('tensorflow') == null) {
    try {
      load(pkg);
    } catch (err) {
      throw new Unavailable(`${pkg} did not load (${firstLine(err)})`);
    }
  }
  if (tf.findBackend('tensorflow') == null) {
    throw new Unavailable(`${pkg} loaded but registered no 'tensorflow' backend`);
  }
  if (requireGpu && !tensorflowUsesGpu()) {
    throw new Unavailable(`${pkg} loaded but sees no GPU (needs CUDA 11.2 and cuDNN 8.1)`);
  }
  if (!(await tf.setBackend('tensorflow'))) {
    throw new Unavailable(`${pkg} failed to initialise`);
  }
}

async function tryWasm(load: (m: string) => unknown, threads: number, log: Logger): Promise<void> {
  if (tf.findBackend('wasm') == null) {
    try {
      load('@tensorflow/tfjs-backend-wasm');
    } catch (err) {
      throw new Unavailable(`@tensorflow/tfjs-backend-wasm did not load (${firstLine(err)})`);
    }
  }
  if (threads > 1) {
    const { enableWasmThreads } = await import('./wasm/threads');
    enableWasmThreads(threads, log);
  }
  registerWasmTrainingKernels();
  if (!(await tf.setBackend('wasm'))) {
    throw new Unavailable('@tensorflow/tfjs-backend-wasm failed to initialise');
  }
}

async function tryNative(load: (m: string) => unknown, threads: number): Promise<void> {
  const { loadOrtBinding } = await import('./native/ortBinding');
  try {
    loadOrtBinding(load);
  } catch (err) {
    throw new Unavailable(`onnxruntime-node did not load (${firstLine(err)})`);
  }
  const { registerNativeBackend } = await import('./native/nativeKernels');
  registerNativeBackend(threads);
  if (!(await tf.setBackend('native'))) {
    throw new Unavailable('the native backend failed to initialise');
  }
  const { nativeBackendInstance } = await import('./native/nativeBackend');
  // A process that switches back to native keeps its sessions unless the count changed.
  nativeBackendInstance()!.ops.threads = threads;
}

async function tryCpu(): Promise<void> {
  registerCpuFastKernels();
  if (!(await tf.setBackend('cpu'))) throw new Unavailable('the cpu backend failed to initialise');
}

const TFJS_NAMES: Record<ConcreteBackend, string> = {
  'tensorflow-gpu': 'tensorflow',
  tensorflow: 'tensorflow',
  native: 'native',
  wasm: 'wasm',
  cpu: 'cpu',
};

/**
 * Selects and initialises the tfjs backend for this process.
 * 'auto' tries tfjs-node-gpu (only with a GPU), then tfjs-node, then native (onnxruntime's
 * kernels) and wasm in the order the workload runs faster on (training by default); the cpu backend is never chosen automatically because it is pure JS, far
 * slower than wasm. A named backend that cannot be had is a UserError saying how to install it.
 */
export async function initBackend(options: BackendOptions = {}): Promise<BackendSelection> {
  const log = options.log ?? silentLogger();
  const env = options.env ?? process.env;
  const load = options.loadModule ?? requireOptional;
  const choice = resolveBackendChoice(options.backend, env);
  const threads = options.wasmThreads ?? 0;
  // tfjs's console warnings (e.g. "looks like you are running in Node") bypass our logger.
  if (!log.isLevelEnabled('debug')) tf.env().set('PROD', true);

  const attempt = (name: ConcreteBackend): Promise<void> => {
    switch (name) {
      case 'tensorflow-gpu':
        return tryTensorflow(name, load, true);
      case 'tensorflow':
        return tryTensorflow(name, load, false);
      case 'native':
        return tryNative(load, options.threads ?? 0);
      case 'wasm':
        return tryWasm(load, threads, log);
      case 'cpu':
        return tryCpu();
    }
  };

  const cpuOrder = cpuBackendOrder(options.workload);
  const candidates: ConcreteBackend[] =
    choice === 'auto' ? autoCandidates(options.workload) : [choice];
  const skipped: BackendSelection['skipped'] = [];
  for (const name of candidates) {
    try {
      await attempt(name);
    } catch (err) {
      if (!(err instanceof Unavailable)) throw err;
      skipped.push({ name, why: err.message });
      log.debug({ backend: name, why: err.message }, 'backend skipped');
      continue;
    }
    for (const s of skipped) log.info(`backend ${s.name} skipped: ${s.why}`);
    const why = choice === 'auto' && name === cpuOrder.order[0] ? ` (${cpuOrder.reason})` : '';
    log.info({ backend: name }, `using backend ${name}${why}`);
    return { name, tfjsName: TFJS_NAMES[name], skipped };
  }
  const last = skipped[skipped.length - 1]!;
  if (choice === 'auto') {
    throw new UserError(
      `no usable backend: ${skipped.map((s) => `${s.name}: ${s.why}`).join('; ')}; ${INSTALL_HINTS.wasm}`,
    );
  }
  throw new UserError(
    `backend '${choice}' is not available: ${last.why}; ${INSTALL_HINTS[choice]}`,
  );
}

export { BACKEND_CHOICES, BACKEND_ENV_VAR, resolveBackendChoice } from './choices';
export type { BackendChoice, ConcreteBackend } from './choices';
