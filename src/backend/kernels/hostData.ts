import type * as tf from '@tensorflow/tfjs';

/** The two ways backends take a new tensor's values: cpu's makeTensorInfo, wasm's makeOutput. */
interface OutputMaker {
  makeTensorInfo?(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo;
  makeOutput?(
    shape: number[],
    dtype: tf.DataType,
    memoryOffset?: number,
    values?: Float32Array,
  ): tf.TensorInfo;
}

/** Backends that let kernels read a tensor's own array without handing it out (native). */
interface HostValues {
  hostValues?(dataId: tf.DataId): unknown;
}

/**
 * A float32 tensor's values on the host for a kernel to read (cpu, native: its own array; wasm: a
 * copy off the heap), always as a Float32Array of this realm. A float32 tensor's storage need not
 * be one: the cpu backend's Cast to float32 from int32 or bool shares its input's Int32Array or
 * Uint8Array, and a caller may hand over an array made in another realm (a vm context, a worker's
 * transfer). Those are copied here on each read (they are rare); onnxruntime's tensors and the
 * kernels' float-bit tricks take nothing else.
 */
export function readFloats(backend: tf.KernelBackend, info: tf.TensorInfo): Float32Array {
  const host = backend as unknown as HostValues;
  const values = host.hostValues ? host.hostValues(info.dataId) : backend.readSync(info.dataId);
  return asFloat32Array(values as ArrayLike<number>);
}

/** `values` itself when it is a Float32Array of this realm, else a Float32Array copy of it. */
function asFloat32Array(values: ArrayLike<number>): Float32Array {
  return values instanceof Float32Array ? values : Float32Array.from(values);
}

/** A new float32 tensor of this backend holding `values`. */
export function outputFromFloats(
  backend: tf.KernelBackend,
  shape: number[],
  values: Float32Array,
): tf.TensorInfo {
  const maker = backend as unknown as OutputMaker;
  if (maker.makeTensorInfo) return maker.makeTensorInfo(shape, 'float32', values);
  if (maker.makeOutput) return maker.makeOutput(shape, 'float32', undefined, values);
  throw new Error('this backend cannot take host values');
}
