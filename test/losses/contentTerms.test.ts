import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/select';
import { expectedVggTensors } from '../../src/losses/backbones/vgg';
import { contentLoss } from '../../src/losses/contentLoss';
import { loadContentTerms, PAPER_CONTENT_LAYERS } from '../../src/losses/contentTerms';
import { UserError } from '../../src/errors';
import { seededValues } from '../helpers/compare';
import { buildTorchZip, tensor } from '../helpers/torchPickle';

let dir: string;

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'th-content-'));
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('without VGG weights, L_CNT is the bundled face-api net, offline', async () => {
  const terms = await loadContentTerms();
  expect(terms.map((t) => [t.backbone.name, t.layers, t.weight])).toEqual([
    ['faceapi', PAPER_CONTENT_LAYERS.faceapi, 1e-2],
  ]);
  const a = tf.randomUniform([1, 64, 64, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
  expect(contentLoss(a, a, terms).dataSync()[0]).toBe(0);
  expect(contentLoss(a, tf.reverse(a, 2) as tf.Tensor4D, terms).dataSync()[0]).toBeGreaterThan(0);
  for (const t of terms) t.backbone.dispose();
});

test('a torchvision-layout VGG19 .pth loads as the paper term, OIHW values intact', async () => {
  const tensors = Object.fromEntries(
    Object.entries(expectedVggTensors('vgg19')).map(([name, shape], i) => {
      const size = shape.reduce((x, y) => x * y, 1);
      return [
        name,
        tensor(
          'FloatStorage',
          seededValues(size, i + 1).map((v) => v * 0.05),
          shape,
        ),
      ];
    }),
  );
  const file = path.join(dir, 'vgg19-test.pth');
  fs.writeFileSync(file, buildTorchZip(tensors, { archiveName: 'vgg19-test' }));
  const terms = await loadContentTerms({ vgg19Weights: file, weights: { vgg19: 0.5 } });
  expect(terms.map((t) => [t.backbone.name, t.weight])).toEqual([['vgg19', 0.5]]);
  // conv1_1 at a corner pixel of a constant image, by hand from the file's OIHW values.
  const image = tf.fill([1, 3, 3, 3], 0.5) as tf.Tensor4D;
  const [conv] = terms[0]!.backbone.features(image, ['conv1_1']);
  const w = seededValues(64 * 27, 1).map((v) => v * 0.05);
  const b = seededValues(64, 2).map((v) => v * 0.05);
  const x = [0.485, 0.456, 0.406].map((m, c) => (0.5 - m) / [0.229, 0.224, 0.225][c]!);
  let want = b[5]!;
  for (let c = 0; c < 3; c++)
    for (let kh = 1; kh < 3; kh++)
      for (let kw = 1; kw < 3; kw++) want += x[c]! * w[((5 * 3 + c) * 3 + kh) * 3 + kw]!;
  expect(conv!.arraySync()[0]![0]![0]![5]).toBeCloseTo(want, 4);
  for (const t of terms) t.backbone.dispose();
});

test('a missing VGG file is a one-line user error naming it', async () => {
  const missing = path.join(dir, 'nope.pth');
  await expect(loadContentTerms({ vggfaceWeights: missing })).rejects.toThrow(UserError);
  await expect(loadContentTerms({ vggfaceWeights: missing })).rejects.toThrow(
    /nope\.pth: no such file/,
  );
});
