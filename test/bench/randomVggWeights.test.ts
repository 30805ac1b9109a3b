import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { writeRandomVggWeights } from '../../bench/suite/cases/randomVggWeights';
import { initBackend } from '../../src/backend/select';
import { loadContentTerms, PAPER_CONTENT_LAYERS } from '../../src/losses/contentTerms';
import { PAPER_LOSS_WEIGHTS } from '../../src/losses/lossWeights';

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});

test("the bench's random VGG files load as the paper's two L_CNT terms, with live activations", async () => {
  const files = await writeRandomVggWeights();
  try {
    const terms = await loadContentTerms({
      vgg19Weights: files.vgg19Weights,
      vggfaceWeights: files.vggfaceWeights,
    });
    try {
      expect(terms.map((t) => [t.backbone.name, t.layers, t.weight])).toEqual([
        ['vgg19', PAPER_CONTENT_LAYERS.vgg19, PAPER_LOSS_WEIGHTS.vgg19],
        ['vggface', PAPER_CONTENT_LAYERS.vggface, PAPER_LOSS_WEIGHTS.vggface],
      ]);
      // He-normal kernels: relu5_1 after 13 (VGG19) or 10 (VGG-Face) convs neither vanishes
      // nor blows up, so the timed step does the arithmetic of real, finite activations.
      const images = tf.randomUniform([1, 64, 64, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
      for (const term of terms) {
        const [relu1, relu5] = term.backbone.features(images, ['relu1_1', 'relu5_1']);
        const rms = (t: tf.Tensor) => Math.sqrt(tf.mean(tf.square(t)).dataSync()[0]!);
        const ratio = rms(relu5!) / rms(relu1!);
        expect([term.backbone.name, ratio > 0.01 && ratio < 100]).toEqual([
          term.backbone.name,
          true,
        ]);
        tf.dispose([relu1!, relu5!]);
      }
      images.dispose();
    } finally {
      terms.forEach((t) => t.backbone.dispose());
    }
  } finally {
    files.remove();
  }
  expect(fs.existsSync(files.vgg19Weights)).toBe(false);
}, 180_000);
