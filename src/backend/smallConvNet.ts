import * as tf from '@tensorflow/tfjs';

/**
 * A fixed five-conv encoder-decoder that exercises what GAN training needs from a backend:
 * 3x3 and 9x9 convs, a strided conv, leaky ReLU, bilinear upsampling and their gradients.
 * Used to check and to time that a backend really trains (tests and `npm run bench:backend`).
 */
export function buildSmallConvNet(size: number, seed = 1): tf.LayersModel {
  const init = (n: number) => tf.initializers.glorotUniform({ seed: seed + n });
  const conv = (filters: number, kernelSize: number, n: number, strides = 1) =>
    tf.layers.conv2d({ filters, kernelSize, strides, padding: 'same', kernelInitializer: init(n) });
  const input = tf.input({ shape: [size, size, 3] });
  let h = conv(16, 9, 0).apply(input) as tf.SymbolicTensor;
  h = tf.layers.leakyReLU({ alpha: 0.2 }).apply(h) as tf.SymbolicTensor;
  h = conv(32, 3, 1, 2).apply(h) as tf.SymbolicTensor;
  h = tf.layers.leakyReLU({ alpha: 0.2 }).apply(h) as tf.SymbolicTensor;
  h = conv(32, 3, 2).apply(h) as tf.SymbolicTensor;
  h = tf.layers.leakyReLU({ alpha: 0.2 }).apply(h) as tf.SymbolicTensor;
  h = tf.layers
    .upSampling2d({ size: [2, 2], interpolation: 'bilinear' })
    .apply(h) as tf.SymbolicTensor;
  h = conv(16, 3, 3).apply(h) as tf.SymbolicTensor;
  h = tf.layers.leakyReLU({ alpha: 0.2 }).apply(h) as tf.SymbolicTensor;
  const output = conv(3, 3, 4).apply(h) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: output });
}

/** A learnable image-to-image task: reproduce the input with its colour channels reversed. */
export function smallConvNetBatch(
  batch: number,
  size: number,
  seed = 7,
): { x: tf.Tensor4D; y: tf.Tensor4D } {
  return tf.tidy(() => {
    const x = tf.randomUniform([batch, size, size, 3], 0, 1, 'float32', seed) as tf.Tensor4D;
    const y = tf.reverse(x, 3).mul(-1).add(1) as tf.Tensor4D;
    return { x, y };
  });
}

/** One Adam step on the L1 loss; returns the loss before the update. Leaves no tensors behind. */
export function smallConvNetStep(
  model: tf.LayersModel,
  optimizer: tf.Optimizer,
  batch: { x: tf.Tensor4D; y: tf.Tensor4D },
): number {
  const loss = optimizer.minimize(
    () => tf.mean(tf.abs(tf.sub(model.apply(batch.x) as tf.Tensor, batch.y))) as tf.Scalar,
    true,
    model.trainableWeights.map((w) => w.read() as tf.Variable),
  )!;
  const value = loss.dataSync()[0]!;
  loss.dispose();
  return value;
}
