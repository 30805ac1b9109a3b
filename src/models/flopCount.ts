import * as tf from '@tensorflow/tfjs';

/**
 * Floating-point operations of convolutions and matrix products, counted from the kernels a
 * computation really runs (tf.profile records each kernel call with its input and output shapes).
 * One multiply-add counts as 2 FLOPs, over the full kernel window: zero padding at the borders is
 * counted as computed, as every conv implementation here computes it. Bias adds, activations,
 * norms, resampling and elementwise ops are not counted (a few percent at most of these nets).
 * The gradient kernels (Conv2DBackpropInput, Conv2DBackpropFilter and their depthwise
 * counterparts) cost as much as the forward conv and are counted when they run, so profiling a
 * training step gives the step's FLOPs.
 */

/** One counted kernel call. */
export interface KernelFlops {
  kernel: string;
  /** In the order the kernel takes its inputs: [x, filter] for Conv2D, [a, b] for BatchMatMul. */
  inputShapes: number[][];
  outputShape: number[];
  flops: number;
}

export interface FlopCount {
  total: number;
  /** Sums per kernel name. */
  byKernel: Record<string, number>;
  /** Every counted call, in the order they ran. */
  calls: KernelFlops[];
}

const product = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** NHWC conv whose per-output cost is a full window over every input channel. */
function denseConv(outputElements: number, filter: readonly number[]): number {
  const [kh, kw, inChannels] = filter as [number, number, number];
  return 2 * outputElements * kh * kw * inChannels;
}

/** Depthwise conv: each output element sees one input channel's window. */
function depthwiseConv(outputElements: number, filter: readonly number[]): number {
  const [kh, kw] = filter as [number, number];
  return 2 * outputElements * kh * kw;
}

/**
 * [.., M, K] x [.., K, N] -> [.., M, N] (either input possibly transposed). The profile has no
 * transpose flags, but a's last two dims are {M, K} in some order and the output gives M.
 */
function matMul(a: readonly number[], output: readonly number[]): number {
  const m = output[output.length - 2]!;
  const [a1, a2] = a.slice(-2) as [number, number];
  const k = a1 === m ? a2 : a1;
  return 2 * product(output) * k;
}

/**
 * FLOPs of one call of `kernel` with these input and output shapes; 0 for kernels that are not
 * convolutions or matrix products. NHWC convolutions, as everything in this project uses.
 */
export function kernelFlops(
  kernel: string,
  inputShapes: readonly (readonly number[])[],
  outputShapes: readonly (readonly number[])[],
): number {
  const input = (i: number) => inputShapes[i]!;
  const output = outputShapes[0]!;
  switch (kernel) {
    case 'Conv2D':
    case 'FusedConv2D':
      return denseConv(product(output), input(1));
    case 'Conv2DBackpropInput': // inputs dy, filter
      return denseConv(product(input(0)), input(1));
    case 'Conv2DBackpropFilter': // inputs x, dy; output: the filter
      return denseConv(product(input(1)), output);
    case 'DepthwiseConv2dNative':
    case 'FusedDepthwiseConv2D':
      return depthwiseConv(product(output), input(1));
    case 'DepthwiseConv2dNativeBackpropInput':
      return depthwiseConv(product(input(0)), input(1));
    case 'DepthwiseConv2dNativeBackpropFilter':
      return depthwiseConv(product(input(1)), output);
    case 'BatchMatMul':
    case '_FusedMatMul':
      return matMul(input(0), output);
    default:
      return 0;
  }
}

/** A kernel call as tf.profile records it; an absent optional input's shape is null. */
export interface ProfiledKernel {
  name: string;
  inputShapes: readonly (readonly number[] | null)[];
  outputShapes: readonly (readonly number[])[];
}

/** The counted calls among profiled kernels, summed. */
export function flopsOfKernels(kernels: readonly ProfiledKernel[]): FlopCount {
  const calls: KernelFlops[] = [];
  const byKernel: Record<string, number> = {};
  let total = 0;
  for (const k of kernels) {
    // Optional inputs (a fused op's absent bias) are recorded as null.
    const inputShapes = k.inputShapes.flatMap((s) => (s == null ? [] : [[...s]]));
    const flops = kernelFlops(k.name, inputShapes, k.outputShapes);
    if (flops === 0) continue;
    calls.push({ kernel: k.name, inputShapes, outputShape: [...k.outputShapes[0]!], flops });
    byKernel[k.name] = (byKernel[k.name] ?? 0) + flops;
    total += flops;
  }
  return { total, byKernel, calls };
}

/**
 * Runs `fn` once under tf.profile and counts its FLOPs. Tensors `fn` returns are disposed.
 * The run is a real one: it can serve as a benchmark's warm-up.
 */
export async function countFlops(fn: () => tf.TensorContainer | void): Promise<FlopCount> {
  const profile = await tf.profile(() => fn() ?? []);
  tf.dispose(profile.result);
  return flopsOfKernels(profile.kernels);
}
