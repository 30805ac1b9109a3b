import * as tf from '@tensorflow/tfjs';
import { UserError } from '../../src/errors';
import {
  encoderSizes,
  encoderWidths,
  generatorWidths,
  presetConfig,
  validateModelConfig,
  type ModelConfig,
} from '../../src/models/config';
import { Generator } from '../../src/models/generator';

beforeAll(async () => {
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
});

test('the paper preset has the widths of docs/method.md', () => {
  const paper = presetConfig('paper');
  expect(encoderSizes(paper)).toEqual([128, 64, 32, 16, 8, 4]);
  expect(encoderWidths(paper)).toEqual([64, 128, 256, 512, 512, 512]);
  expect(generatorWidths(paper)).toEqual({ down: [64, 128, 256, 512], up: [256, 128, 64, 32] });
});

test('presets are copies: changing one does not change the next', () => {
  const a = presetConfig('tiny');
  a.attention.embedder.push(8);
  expect(presetConfig('tiny').attention.embedder).toEqual([16]);
  expect(() => presetConfig('huge')).toThrow(
    /unknown model preset 'huge'; choose one of paper, tiny/,
  );
});

test('a 128 px config builds and runs', () => {
  const config: ModelConfig = {
    ...presetConfig('tiny'),
    imageSize: 128,
    attention: { embedder: [32], generatorDown: [16], generatorUp: [32], discriminator: [8] },
  };
  const G = new Generator(config);
  const y = tf.zeros([1, 128, 128, 3]) as tf.Tensor4D;
  expect(G.generate(y, tf.ones([1, config.embeddingSize])).shape).toEqual([1, 128, 128, 3]);
  G.dispose();
});

describe('validation names the field and the problem', () => {
  const tiny = presetConfig('tiny');
  test.each([
    [{ imageSize: 100 }, /imageSize must be 64, 128 or 256, got 100/],
    [{ baseWidth: 0 }, /baseWidth must be a positive integer, got 0/],
    [{ generatorFirstKernel: 4 }, /generatorFirstKernel must be an odd positive integer, got 4/],
    [
      { attention: { ...tiny.attention, embedder: [12] } },
      /attention\.embedder has 12; feature maps there are 32, 16, 8, 4/,
    ],
    [{ leakySlope: 1 }, /leakySlope must be in \[0, 1\), got 1/],
  ] as [Partial<ModelConfig>, RegExp][])('%j', (change, message) => {
    const attempt = () => validateModelConfig({ ...tiny, ...change }, 'my.yaml');
    expect(attempt).toThrow(UserError);
    expect(attempt).toThrow(message);
    expect(attempt).toThrow(/^my\.yaml: /);
  });
});
