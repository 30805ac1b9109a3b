import * as tf from '@tensorflow/tfjs';

/**
 * The same values as `x` with no gradient path back: PyTorch's `x.detach()`. A new tensor
 * handle on x's data (no copy), made outside any kernel, so autodiff records nothing that links
 * it to x and prunes everything that computed x from the backward pass (no zero gradients are
 * propagated through it, unlike a custom gradient returning zeros).
 */
export function detach<T extends tf.Tensor>(x: T): T {
  const engine = tf.engine();
  const info = engine.state.tensorInfo.get(x.dataId);
  if (info == null) throw new Error('detach: the tensor is disposed');
  // The new handle owns one more reference to the data, released when it is disposed.
  info.backend.incRef(x.dataId);
  return engine.makeTensorFromDataId(x.dataId, x.shape, x.dtype, info.backend) as T;
}

/**
 * f() computed off the gradient tape: detached, as if each result went through `detach`, and
 * nothing is recorded or saved for a backward pass. For passes whose results are only targets
 * (L_CNT's and feature matching's real activations): on the tape, the tensors their kernels save
 * would stay alive until the forward pass ends, for a gradient never computed. Off the tape
 * inside a gradient, f must not need one: no gradient flows into what it reads.
 */
export function offTape<T>(f: () => T): T {
  const state = (tf.engine() as unknown as { state: { kernelDepth?: number } }).state;
  if (typeof state.kernelDepth !== 'number')
    throw new Error("tfjs's engine no longer has state.kernelDepth");
  // tfjs records nothing while a kernel runs (kernelDepth > 0): the same switch.
  state.kernelDepth++;
  try {
    return f();
  } finally {
    state.kernelDepth--;
  }
}
