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
