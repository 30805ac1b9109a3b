import * as tf from '@tensorflow/tfjs';
import type { KernelArgs } from '../kernels/kernelCalls';
import type { WasmHeapBackend } from './heap';

/**
 * out[s, ...] = sum of x[i, ...] over i with segmentIds[i] = s. Ids outside [0, numSegments)
 * are dropped, as in TensorFlow. Needed on wasm by the gradient of gather (embedding columns).
 * A single pass over the heap; it is memory-bound, so plain JS is as fast as a kernel call.
 */
export function unsortedSegmentSumWasm(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as WasmHeapBackend;
  const { x, segmentIds } = args.inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
  const { numSegments } = args.attrs as unknown as tf.UnsortedSegmentSumAttrs;
  const idCount = tf.util.sizeFromShape(segmentIds.shape);
  const innerShape = x.shape.slice(segmentIds.shape.length);
  const inner = tf.util.sizeFromShape(innerShape);
  const outInfo = backend.makeOutput([numSegments, ...innerShape], x.dtype);
  // Views are taken after makeOutput: allocating may grow (and detach) the wasm heap.
  const out = backend.typedArrayFromHeap(outInfo);
  const xs = backend.typedArrayFromHeap(x);
  const ids = backend.typedArrayFromHeap(segmentIds);
  out.fill(0);
  for (let i = 0; i < idCount; i++) {
    const s = ids[i]!;
    if (s < 0 || s >= numSegments) continue;
    const src = i * inner;
    const dst = s * inner;
    for (let j = 0; j < inner; j++) out[dst + j]! += xs[src + j]!;
  }
  return outInfo;
}
