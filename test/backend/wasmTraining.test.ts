import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/select';
import {
  buildSmallConvNet,
  smallConvNetBatch,
  smallConvNetStep,
} from '../../src/backend/smallConvNet';

test('a small conv net trains on wasm with Adam: the loss falls and no tensor leaks', async () => {
  const selection = await initBackend({ backend: 'wasm' });
  expect(selection.name).toBe('wasm');
  expect(tf.getBackend()).toBe('wasm');

  const model = buildSmallConvNet(64);
  expect(model.layers.filter((l) => l.getClassName() === 'Conv2D')).toHaveLength(5);
  const optimizer = tf.train.adam(1e-3);
  const batch = smallConvNetBatch(2, 64);
  const losses: number[] = [];
  let tensorsAfterFirstStep = 0;
  for (let step = 1; step <= 20; step++) {
    losses.push(smallConvNetStep(model, optimizer, batch));
    if (step === 1) tensorsAfterFirstStep = tf.memory().numTensors;
  }
  expect(tf.memory().numTensors).toBe(tensorsAfterFirstStep);
  expect(losses.every(Number.isFinite)).toBe(true);
  expect(losses[19]!).toBeLessThan(0.7 * losses[0]!);
  tf.dispose(batch);
  optimizer.dispose();
  model.dispose();
});
