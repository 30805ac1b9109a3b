import * as tf from '@tensorflow/tfjs';
import type { KernelArgs } from '../kernels/kernelCalls';
import { outputFromFloats, readFloats } from '../kernels/hostData';
import type { NativeBackend } from './nativeBackend';
import {
  allFloat32,
  fusedEpilogue,
  keyOf,
  MIN_NATIVE_MACS,
  nativeKernel,
  onCpu,
} from './nativeKernelArgs';
import { matMulGraph } from './opGraphs';

interface Product {
  outShape: number[];
  macs: number;
}

/** tfjs's output shape of a (batched, broadcast) matmul and its multiply-adds; throws as tfjs would. */
function productOf(a: number[], b: number[], transposeA: boolean, transposeB: boolean): Product {
  const [m, k] = transposeA ? [a.at(-1)!, a.at(-2)!] : [a.at(-2)!, a.at(-1)!];
  const n = transposeB ? b.at(-2)! : b.at(-1)!;
  const batch = tf.backend_util.assertAndGetBroadcastShape(a.slice(0, -2), b.slice(0, -2));
  const outShape = [...batch, m, n];
  return { outShape, macs: outShape.reduce((x, y) => x * y, 1) * k };
}

function batchMatMul(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as NativeBackend;
  const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const { transposeA, transposeB } = args.attrs as unknown as tf.BatchMatMulAttrs;
  if (!allFloat32(a, b) || a.shape.length < 2 || b.shape.length < 2)
    return onCpu('BatchMatMul', args);
  const { outShape, macs } = productOf(a.shape, b.shape, transposeA, transposeB);
  if (macs < MIN_NATIVE_MACS) return onCpu('BatchMatMul', args);
  const values = backend.ops.run(
    `BatchMatMul${keyOf(a.shape, b.shape, transposeA, transposeB)}`,
    () => matMulGraph(a.shape, b.shape, transposeA, transposeB, outShape),
    [readFloats(backend, a), readFloats(backend, b)],
  );
  return outputFromFloats(backend, outShape, values);
}

function fusedMatMul(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as NativeBackend;
  const { a, b, bias, preluActivationWeights } = args.inputs as {
    a: tf.TensorInfo;
    b: tf.TensorInfo;
    bias?: tf.TensorInfo;
    preluActivationWeights?: tf.TensorInfo;
  };
  const { transposeA, transposeB, activation, leakyreluAlpha } =
    args.attrs as unknown as tf._FusedMatMulAttrs;
  const fused = fusedEpilogue({ bias, preluActivationWeights, activation, leakyreluAlpha });
  if (!fused || !allFloat32(a, b, bias) || a.shape.length < 2 || b.shape.length < 2)
    return onCpu('_FusedMatMul', args);
  const { outShape, macs } = productOf(a.shape, b.shape, transposeA, transposeB);
  if (macs < MIN_NATIVE_MACS) return onCpu('_FusedMatMul', args);
  const inputs = [readFloats(backend, a), readFloats(backend, b)];
  if (bias) inputs.push(readFloats(backend, bias));
  const values = backend.ops.run(
    `_FusedMatMul${keyOf(a.shape, b.shape, transposeA, transposeB, fused)}`,
    () => matMulGraph(a.shape, b.shape, transposeA, transposeB, outShape, fused),
    inputs,
  );
  return outputFromFloats(backend, outShape, values);
}

export const MATMUL_KERNELS: readonly tf.KernelConfig[] = [
  nativeKernel('BatchMatMul', batchMatMul),
  nativeKernel('_FusedMatMul', fusedMatMul),
];
