import type * as tf from '@tensorflow/tfjs';

/** The parts of tfjs-backend-wasm's BackendWasm that kernels working on its heap use. */
export interface WasmHeapBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  /** A view of the tensor's bytes on the wasm heap; invalid after the heap grows. */
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}
