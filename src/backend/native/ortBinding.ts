import type * as OrtCommon from 'onnxruntime-common';

/**
 * onnxruntime-node's native session object, below its public (async) API. Its `run` executes
 * synchronously on the calling thread, which is what tfjs's synchronous kernels need; the public
 * InferenceSession only wraps it in a setImmediate promise. This surface is not public, so the
 * version is pinned in package.json and test/backend/nativeBinding.test.ts fails loudly when it
 * changes.
 */
export interface OrtNativeSession {
  loadModel(buffer: ArrayBuffer, byteOffset: number, byteLength: number, options: object): void;
  run(
    feeds: Record<string, OrtCommon.Tensor>,
    fetches: Record<string, OrtCommon.Tensor | null>,
    options: object,
  ): Record<string, OrtCommon.Tensor>;
  dispose(): void;
}

export interface OrtBinding {
  /** The onnxruntime-node version the binding came from. */
  version: string;
  newSession(): OrtNativeSession;
  /** onnxruntime-common's Tensor, the value type the binding takes and returns. */
  Tensor: typeof OrtCommon.Tensor;
}

/** The onnxruntime-node version this backend was written and tested against. */
export const PINNED_ORT_VERSION = '1.30.0';

interface BindingModule {
  binding: { InferenceSession: new () => OrtNativeSession };
  initOrt: () => void;
}

let loaded: OrtBinding | undefined;

function requireModule(name: string): unknown {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(name);
}

/**
 * Loads the binding once per process (a loaded native addon cannot be unloaded anyway). Throws
 * when onnxruntime-node is missing, is another version, or no longer exposes the surface used.
 */
export function loadOrtBinding(load: (m: string) => unknown = requireModule): OrtBinding {
  const pkg = load('onnxruntime-node/package.json') as { version: string };
  if (pkg.version !== PINNED_ORT_VERSION) {
    throw new Error(
      `onnxruntime-node ${pkg.version} is installed; the native backend needs ${PINNED_ORT_VERSION} (npm ci)`,
    );
  }
  if (loaded) return loaded;
  const module = load('onnxruntime-node/dist/binding') as Partial<BindingModule>;
  const common = load('onnxruntime-common') as typeof OrtCommon;
  const Session = module.binding?.InferenceSession;
  if (typeof module.initOrt !== 'function' || typeof Session !== 'function') {
    throw new Error(
      `onnxruntime-node ${pkg.version}: dist/binding no longer exports binding.InferenceSession and initOrt`,
    );
  }
  for (const method of ['loadModel', 'run', 'dispose'] as const) {
    if (typeof (Session.prototype as unknown as Record<string, unknown>)[method] !== 'function')
      throw new Error(`onnxruntime-node ${pkg.version}: native session has no ${method}()`);
  }
  module.initOrt();
  loaded = { version: pkg.version, newSession: () => new Session(), Tensor: common.Tensor };
  return loaded;
}
