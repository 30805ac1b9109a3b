import * as tf from '@tensorflow/tfjs';
import type { KernelArgs } from '../kernels/kernelCalls';
import { NATIVE_BACKEND } from './nativeBackend';
import { GRAPH_ACTIVATIONS, type Epilogue, type FusedActivation } from './opGraphs';

/**
 * Below this many multiply-adds an op stays on the cpu kernel: a session run's fixed cost is about
 * what the cpu backend's loops spend on that much work.
 */
export const MIN_NATIVE_MACS = 1 << 16;

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

/** A conv's or pool's cache key part: shapes, strides, dilations and pads. */
export function geometryKey(info: tf.backend_util.Conv2DInfo): string {
  const p = info.padInfo;
  return keyOf(
    info.inShape,
    info.filterShape,
    [info.strideHeight, info.strideWidth, info.dilationHeight, info.dilationWidth],
    [p.top, p.bottom, p.left, p.right],
  );
}

/** A pooling kernel's geometry over an NHWC input (its attrs: filterSize, strides, pad, ...). */
export function poolInfo(args: KernelArgs, inputShape: number[]): tf.backend_util.Conv2DInfo {
  const attrs = args.attrs as unknown as tf.AvgPoolAttrs & {
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
  };
  return tf.backend_util.computePool2DInfo(
    inputShape as [number, number, number, number],
    attrs.filterSize,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
}

/** The inputs and attributes of tfjs's fused kernels (FusedConv2D, _FusedMatMul, ...). */
export interface FusedCall {
  bias?: tf.TensorInfo;
  preluActivationWeights?: tf.TensorInfo;
  activation: string;
  leakyreluAlpha?: number;
}

/**
 * The bias and activation a fused kernel's graph applies, or undefined where the cpu kernel must
 * run the call (prelu, which has its own weights, and activations the graph lacks).
 */
export function fusedEpilogue(call: FusedCall): Epilogue | undefined {
  if (call.preluActivationWeights != null || !GRAPH_ACTIVATIONS.includes(call.activation)) return;
  return {
    biasShape: call.bias ? [...call.bias.shape] : undefined,
    activation: call.activation as FusedActivation,
    leakyreluAlpha: call.leakyreluAlpha,
  };
}
