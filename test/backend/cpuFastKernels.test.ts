import * as tf from '@tensorflow/tfjs';
import { registerCpuFastKernels } from '../../src/backend/cpu/registerFastKernels';
import { relativeError, seededTensor } from '../helpers/compare';

test('the cpu Conv2DBackpropFilter as a forward conv matches the original cpu kernel', async () => {
  tf.env().set('PROD', true); // no "you are running in Node" console banner
  await tf.setBackend('cpu');
  const original = tf.getKernel('Conv2DBackpropFilter', 'cpu')!;
  registerCpuFastKernels();
  const fast = tf.getKernel('Conv2DBackpropFilter', 'cpu')!;
  expect(fast.kernelFunc).not.toBe(original.kernelFunc);
  const backend = tf.backend();
  for (const kernel of [1, 3, 9])
    for (const stride of [1, 2])
      for (const pad of ['same', 'valid'] as const) {
        const x = seededTensor([2, 13, 11, 3], 11) as tf.Tensor4D;
        const filterShape: [number, number, number, number] = [kernel, kernel, 3, 4];
        const dy = seededTensor(
          tf.conv2d(x, tf.zeros(filterShape) as tf.Tensor4D, stride, pad).shape,
          12,
        );
        const args = {
          inputs: { x, dy },
          backend,
          attrs: { strides: [stride, stride], pad, dataFormat: 'NHWC', filterShape },
        } as unknown as Parameters<tf.KernelFunc>[0];
        const want = original.kernelFunc(args) as tf.TensorInfo;
        const got = fast.kernelFunc(args) as tf.TensorInfo;
        const values = (info: tf.TensorInfo) => backend.readSync(info.dataId) as Float32Array;
        expect(relativeError(values(got), values(want))).toBeLessThan(1e-4);
        backend.disposeData(want.dataId);
        backend.disposeData(got.dataId);
        tf.dispose([x, dy]);
      }
});
