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
 * A tensor's values on the host for a kernel to read (cpu, native: its own array; wasm: a copy
 * off the heap).
 */
export function readFloats(backend: tf.KernelBackend, info: tf.TensorInfo): Float32Array {
  const host = backend as unknown as HostValues;
  if (host.hostValues) return host.hostValues(info.dataId) as Float32Array;
  return backend.readSync(info.dataId) as Float32Array;
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
