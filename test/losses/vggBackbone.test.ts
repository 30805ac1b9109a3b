import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/select';
import { expectedVggTensors, vggFromTensors, type VggKind } from '../../src/losses/backbones/vgg';
import type { RawTensor } from '../../src/formats/safetensors';
import { UserError } from '../../src/errors';
import { seededValues } from '../helpers/compare';

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});

/** Random weights of the real shapes, He-scaled so activations stay finite through 16 convs. */
function randomCheckpoint(
  kind: VggKind,
  extra: Record<string, RawTensor> = {},
): Record<string, RawTensor> {
  const tensors: Record<string, RawTensor> = { ...extra };
  Object.entries(expectedVggTensors(kind)).forEach(([name, shape], i) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const scale = shape.length === 4 ? Math.sqrt(6 / (shape[1]! * 9)) : 0.01;
    tensors[name] = { dtype: 'F32', shape, data: seededValues(size, i + 1).map((v) => v * scale) };
  });
  return tensors;
}

test('torchvision VGG19 names: features.N at the conv positions', () => {
  const names = Object.keys(expectedVggTensors('vgg19')).filter((n) => n.endsWith('.weight'));
  expect(names).toEqual(
    [0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34].map((i) => `features.${i}.weight`),
  );
  expect(expectedVggTensors('vgg19')['features.0.weight']).toEqual([64, 3, 3, 3]);
  expect(Object.keys(expectedVggTensors('vggface'))).toContain('conv5_3.weight');
});

test('VGG19 with random weights of the real shapes: feature shapes at 256 px', () => {
  const classifier: RawTensor = { dtype: 'F32', shape: [2], data: new Float32Array(2) };
  const vgg = vggFromTensors(
    'vgg19',
    randomCheckpoint('vgg19', { 'classifier.0.weight': classifier }),
    'vgg19.pth',
  );
  const images = tf.randomUniform([1, 256, 256, 3]) as tf.Tensor4D;
  const layers = ['relu1_1', 'relu2_1', 'relu3_1', 'relu4_1', 'relu5_1'];
  const features = vgg.features(images, layers);
  expect(features.map((f) => f.shape)).toEqual([
    [1, 256, 256, 64],
    [1, 128, 128, 128],
    [1, 64, 64, 256],
    [1, 32, 32, 512],
    [1, 16, 16, 512],
  ]);
  for (const f of features) expect(tf.min(f).dataSync()[0]).toBeGreaterThanOrEqual(0); // after ReLU
  tf.dispose([images, ...features]);
  vgg.dispose();
});

test('VGG19 conv1_1 is the OIHW kernel transposed, on ImageNet-normalised input', () => {
  const vgg = vggFromTensors('vgg19', randomCheckpoint('vgg19'), 'vgg19.pth');
  const image = tf.randomUniform([1, 4, 4, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
  const [conv] = vgg.features(image, ['conv1_1']);
  // Output channel 7 at pixel (1, 2), by hand from the PyTorch layout.
  const w = randomCheckpoint('vgg19')['features.0.weight']!.data as Float32Array;
  const b = randomCheckpoint('vgg19')['features.0.bias']!.data as Float32Array;
  const px = image.arraySync()[0]!;
  const mean = [0.485, 0.456, 0.406];
  const std = [0.229, 0.224, 0.225];
  let want = b[7]!;
  for (let ci = 0; ci < 3; ci++)
    for (let kh = 0; kh < 3; kh++)
      for (let kw = 0; kw < 3; kw++) {
        const r = 1 + kh - 1;
        const c = 2 + kw - 1;
        if (r < 0 || r > 3 || c < 0 || c > 3) continue;
        want += ((px[r]![c]![ci]! - mean[ci]!) / std[ci]!) * w[((7 * 3 + ci) * 3 + kh) * 3 + kw]!;
      }
  expect(conv!.arraySync()[0]![1]![2]![7]).toBeCloseTo(want, 4);
  vgg.dispose();
});

test('VGG-Face: VGG16 layout; BGR mode equals RGB mode with the conv1_1 input channels reversed', () => {
  const tensors = randomCheckpoint('vggface');
  const bgr = vggFromTensors('vggface', tensors, 'vgg_face_caffe.pth', { channelOrder: 'bgr' });
  // conv(reverse_c(x - mean), W) = conv(x - mean, W with its input channels reversed).
  const w = tensors['conv1_1.weight']!;
  const flipped = tf.tidy(() =>
    tf
      .reverse(tf.tensor4d(w.data as Float32Array, w.shape as [number, number, number, number]), 1)
      .dataSync(),
  );
  const rgb = vggFromTensors(
    'vggface',
    { ...tensors, 'conv1_1.weight': { ...w, data: Float32Array.from(flipped) } },
    'vgg_face_dag.pth',
  );
  expect(rgb.layerNames.filter((n) => n.startsWith('conv'))).toHaveLength(13);
  const image = tf.randomUniform([1, 32, 32, 3], 0, 1, 'float32', 6) as tf.Tensor4D;
  const [a] = rgb.features(image, ['relu3_1']);
  const [b] = bgr.features(image, ['relu3_1']);
  expect(a!.shape).toEqual([1, 8, 8, 256]);
  const diff = tf.max(tf.abs(tf.sub(a!, b!))).dataSync()[0]!;
  expect(diff / tf.max(tf.abs(a!)).dataSync()[0]!).toBeLessThan(1e-4);
  rgb.dispose();
  bgr.dispose();
});

test('missing and mis-shaped tensors are one-line errors naming the file and the tensor', () => {
  const missing = randomCheckpoint('vgg19');
  delete missing['features.21.bias'];
  expect(() => vggFromTensors('vgg19', missing, 'my.pth')).toThrow(UserError);
  expect(() => vggFromTensors('vgg19', missing, 'my.pth')).toThrow(
    /^my\.pth: missing tensor 'features\.21\.bias' \(vgg19 conv4_2\)/,
  );
  const wrong = randomCheckpoint('vgg19');
  wrong['features.0.weight'] = {
    dtype: 'F32',
    shape: [64, 3, 7, 7],
    data: new Float32Array(64 * 3 * 49),
  };
  expect(() => vggFromTensors('vgg19', wrong, 'my.pth')).toThrow(
    /tensor 'features\.0\.weight' has shape \[64,3,7,7\], vgg19 conv1_1 needs \[64,3,3,3\]/,
  );
  expect(() => vggFromTensors('vggface', randomCheckpoint('vgg19'), 'vgg19.pth')).toThrow(
    /missing tensor 'conv1_1\.weight' \(vggface conv1_1\); is this a vggface checkpoint\?/,
  );
  const vgg = vggFromTensors('vgg19', randomCheckpoint('vgg19'), 'x');
  expect(() => vgg.features(tf.zeros([1, 8, 8, 3]), ['relu9_9'])).toThrow(
    /vgg19 has no layer 'relu9_9'/,
  );
  vgg.dispose();
});
