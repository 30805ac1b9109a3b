import * as tf from '@tensorflow/tfjs';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { OpSessions } from './opSessions';

/** tfjs's name for this backend. */
export const NATIVE_BACKEND = 'native';

/**
 * The cpu backend's storage (plain JS typed arrays: no wasm heap, so no 4 GiB cap) and its
 * kernels for the light work, with the heavy kernels run by onnxruntime's MLAS through
 * single-op sessions (nativeKernels.ts).
 */
export class NativeBackend extends MathBackendCPU {
  readonly ops: OpSessions;

  constructor(threads: number) {
    super();
    this.ops = new OpSessions(threads);
  }

  override dispose(): void {
    this.ops.clear();
    super.dispose();
  }
}

/** The native backend's instance, once tfjs has made it. */
export function nativeBackendInstance(): NativeBackend | undefined {
  const backend = tf.findBackend(NATIVE_BACKEND);
  return backend instanceof NativeBackend ? backend : undefined;
}
