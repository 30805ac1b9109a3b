import * as tf from '@tensorflow/tfjs';
import type { KernelArgs } from '../kernels/kernelCalls';
import type { NativeBackend } from './nativeBackend';
import { NATIVE_BACKEND } from './nativeBackend';

/**
 * Below this many multiply-adds an op stays on the cpu kernel: a session run costs tens of
 * microseconds, as much as the cpu backend's loops spend on ~10^5 multiply-adds.
 */
export const MIN_NATIVE_MACS = 1 << 16;

/** A float32 tensor's values as a Float32Array (the cpu storage's own array, not a copy). */
export function floatsOf(backend: NativeBackend, info: tf.TensorInfo): Float32Array {
  const values = backend.readSync(info.dataId);
  return values instanceof Float32Array ? values : Float32Array.from(values as ArrayLike<number>);
}

export function output(backend: NativeBackend, shape: number[], values: Float32Array) {
  return backend.makeTensorInfo(shape, 'float32', values);
}

/** The cpu backend's own kernel for this call: for dtypes, layouts and sizes left to it. */
export function onCpu(kernelName: string, args: KernelArgs): tf.TensorInfo {
  const kernel = tf.getKernel(kernelName, 'cpu');
  if (kernel == null) throw new Error(`cpu kernel ${kernelName} is not registered`);
  return kernel.kernelFunc(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
}

export function allFloat32(...infos: (tf.TensorInfo | undefined)[]): boolean {
  return infos.every((t) => t == null || t.dtype === 'float32');
}

/** A stable cache key part for attributes and shapes. */
export function keyOf(...parts: unknown[]): string {
  return JSON.stringify(parts);
}

/** A kernel of the native backend. */
export function nativeKernel(
  kernelName: string,
  kernelFunc: (args: KernelArgs) => tf.TensorInfo,
): tf.KernelConfig {
  return {
    kernelName,
    backendName: NATIVE_BACKEND,
    kernelFunc: kernelFunc as unknown as tf.KernelFunc,
  };
}
