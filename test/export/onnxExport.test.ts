/**
 * @jest-environment ./test/helpers/hostTypedArraysEnvironment.js
 */
import * as tf from '@tensorflow/tfjs';
import { onnx } from 'onnx-proto';
import { initBackend } from '../../src/backend/select';
import { exportEmbedder } from '../../src/export/exportEmbedder';
import { exportGenerator } from '../../src/export/exportGenerator';
import { OPSET } from '../../src/formats/onnxGraph';
import { readExportInfo } from '../../src/export/onnxMetadata';
import { onnxStructureProblems } from '../../src/export/onnxStructure';
import { presetConfig, type ModelConfig } from '../../src/models/config';
import { Embedder } from '../../src/models/embedder';
import { Generator } from '../../src/models/generator';
import { maxAbsDiff } from '../helpers/compare';
import { nchwValues, randomizeWeights, runOnnx } from '../helpers/onnx';
import { compareExports, type Agreement } from '../helpers/onnxEquivalence';

const tiny = presetConfig('tiny');
const SOURCE = { kind: 'checkpoint' as const, id: 'test' };

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});

/**
 * Max abs difference below `tolerance`; `scaled` multiplies it by the outputs' size above 1, for
 * fp16 weights, whose error grows with the values (embeddings reach ~30).
 */
function expectAgreement(agreements: Agreement[], tolerance: number, scaled = false): void {
  expect(agreements.map((a) => a.batch)).toEqual([1, 3]);
  for (const a of agreements) {
    expect(a.maxAbsDiff).toBeLessThan(tolerance * (scaled ? Math.max(1, a.scale) : 1));
    expect(a.scale).toBeGreaterThan(0.05); // the outputs are not all ~0
  }
}

test('tiny: onnxruntime matches tfjs to 1e-4 for the person generator, the two-input generator and the embedder, batch 1 and 3', async () => {
  const result = await compareExports(tiny, { seed: 10, batches: [1, 3] });
  expect(result.structure).toEqual([]);
  expectAgreement(result.personGenerator, 1e-4);
  expectAgreement(result.generator, 1e-4);
  expectAgreement(result.embedder, 1e-4);
  expectAgreement(result.meanEmbedding, 1e-4);
});

// Each variant changes one lowering: resize mode, global pooling, output activation, and a
// 9x9 first kernel (padding 4).
const variants: [string, Partial<ModelConfig>][] = [
  ['nearest upsampling', { upsampling: 'nearest' }],
  ['max pooling and tanh output', { embedderPooling: 'max', outputActivation: 'tanh' }],
  ['average pooling and a 9x9 first kernel', { embedderPooling: 'avg', generatorFirstKernel: 9 }],
];
test.each(variants)('tiny with %s: onnxruntime matches tfjs', async (_, change) => {
  const result = await compareExports({ ...tiny, ...change }, { seed: 20, batches: [1, 3] });
  expect(result.structure).toEqual([]);
  expectAgreement(result.personGenerator, 1e-4);
  expectAgreement(result.generator, 1e-4);
  expectAgreement(result.embedder, 1e-4);
});

test('one ê [1, E] drives a whole batch of landmark images (it broadcasts)', async () => {
  const generator = new Generator(tiny, { seed: 30 });
  randomizeWeights(generator, 31);
  const s = tiny.imageSize;
  const y = tf.randomUniform([3, s, s, 3], 0, 1, 'float32', 32) as tf.Tensor4D;
  const e = tf.abs(tf.randomNormal([1, tiny.embeddingSize], 0, 1, 'float32', 33)) as tf.Tensor2D;
  const want = tf.tidy(() => nchwValues(generator.generate(y, tf.tile(e, [3, 1]) as tf.Tensor2D)));
  const model = exportGenerator(generator, { source: SOURCE });
  const got = await runOnnx(model, {
    landmarks: [nchwValues(y), [3, 3, s, s]],
    embedding: [Float32Array.from(e.dataSync()), [1, tiny.embeddingSize]],
  });
  expect(maxAbsDiff(got.frame!, want)).toBeLessThan(1e-4);
  generator.dispose();
  tf.dispose([y, e]);
});

test('graph inputs and outputs are named, documented and batch-dynamic; metadata says what the file is', () => {
  const generator = new Generator(tiny, { seed: 40 });
  const embedder = new Embedder(tiny, { seed: 41 });
  const shapeOf = (v: onnx.IValueInfoProto) =>
    v.type!.tensorType!.shape!.dim!.map((d) => d.dimParam || Number(d.dimValue));
  const io = (model: onnx.ModelProto) => ({
    inputs: model.graph!.input!.map((v) => [v.name, shapeOf(v)]),
    outputs: model.graph!.output!.map((v) => [v.name, shapeOf(v)]),
    documented: [...model.graph!.input!, ...model.graph!.output!].every(
      (v) => (v.docString ?? '').length > 20,
    ),
  });
  const meta = exportGenerator(generator, { source: SOURCE });
  expect(io(meta)).toEqual({
    inputs: [
      ['landmarks', ['batch', 3, 64, 64]],
      ['embedding', ['embedding_batch', 32]],
    ],
    outputs: [['frame', ['batch', 3, 64, 64]]],
    documented: true,
  });
  expect(readExportInfo(meta)).toMatchObject({
    part: 'generator',
    config: tiny,
    weights: 'float32',
  });
  const embedderModel = exportEmbedder(embedder, { source: SOURCE });
  expect(io(embedderModel)).toEqual({
    inputs: [
      ['frames', ['batch', 3, 64, 64]],
      ['landmarks', ['batch', 3, 64, 64]],
    ],
    outputs: [
      ['embedding', ['batch', 32]],
      ['mean_embedding', [1, 32]],
    ],
    documented: true,
  });
  tf.tidy(() => generator.enterFinetuning(tf.zeros([generator.psiLength])));
  const person = exportGenerator(generator, {
    source: { kind: 'person', id: 'p', framing: { size: 64, crop: {}, background: 'black' } },
  });
  expect(io(person).inputs).toEqual([['landmarks', ['batch', 3, 64, 64]]]);
  expect(readExportInfo(person)).toMatchObject({ part: 'person-generator', source: 'person:p' });
  for (const model of [meta, embedderModel, person]) {
    expect(model.opsetImport).toEqual([expect.objectContaining({ domain: '', version: OPSET })]);
    expect(onnxStructureProblems(model)).toEqual([]);
    // Round trip through bytes: what is written decodes to the same graph.
    const decoded = onnx.ModelProto.decode(onnx.ModelProto.encode(model).finish());
    expect(decoded.graph!.node!.length).toBe(model.graph!.node!.length);
    expect(onnxStructureProblems(decoded)).toEqual([]);
  }
  // Only standard ops, and none of the ops whose absence the export relies on.
  const ops = new Set(
    [meta, embedderModel, person].flatMap((m) => m.graph!.node!.map((n) => n.opType!)),
  );
  expect([...ops].sort()).toEqual(
    [
      'Add',
      'AveragePool',
      'Concat',
      'Conv',
      'Identity',
      'InstanceNormalization',
      'LeakyRelu',
      'MatMul',
      'Mul',
      'ReduceMean',
      'ReduceSum',
      'Relu',
      'Reshape',
      'Resize',
      'Sigmoid',
      'Slice',
      'Softmax',
      'Transpose',
      'Unsqueeze',
    ].sort(),
  );
  generator.dispose();
  embedder.dispose();
});

test('--fp16: weights stored as FLOAT16 at half the size, cast to fp32 in the graph; outputs within 1e-2', async () => {
  const full = await compareExports(tiny, { seed: 50, batches: [1, 3] });
  const half = await compareExports(tiny, { seed: 50, batches: [1, 3], precision: 'float16' });
  expect(half.structure).toEqual([]);
  for (const part of ['personGenerator', 'generator', 'embedder'] as const) {
    expectAgreement(half[part], 1e-2, true);
    // fp16 weights really change the numbers: the difference is far above fp32's.
    expect(Math.max(...half[part].map((a) => a.maxAbsDiff))).toBeGreaterThan(
      10 * Math.max(...full[part].map((a) => a.maxAbsDiff)),
    );
  }
  const generator = new Generator(tiny, { seed: 51 });
  const bytes = (precision: 'float32' | 'float16') =>
    onnx.ModelProto.encode(exportGenerator(generator, { precision, source: SOURCE })).finish()
      .length;
  const ratio = bytes('float16') / bytes('float32');
  expect(ratio).toBeGreaterThan(0.45);
  expect(ratio).toBeLessThan(0.56);
  const model = exportGenerator(generator, { precision: 'float16', source: SOURCE });
  const types = new Set(
    model.graph!.initializer!.filter((t) => t.dims!.length > 1).map((t) => t.dataType),
  );
  expect([...types]).toEqual([onnx.TensorProto.DataType.FLOAT16]);
  expect(readExportInfo(model).weights).toBe('float16');
  generator.dispose();
});

test('exporting leaves no tensors behind', () => {
  const generator = new Generator(tiny, { seed: 60 });
  const embedder = new Embedder(tiny, { seed: 61 });
  const start = tf.memory().numTensors;
  // The first export fills spectral norm's inference cache: one W / sigma per normalised layer.
  exportGenerator(generator, { source: SOURCE });
  exportEmbedder(embedder, { source: SOURCE, precision: 'float16' });
  const before = tf.memory().numTensors;
  expect(before).toBeGreaterThan(start);
  for (let i = 0; i < 3; i++) {
    exportGenerator(generator, { source: SOURCE });
    exportEmbedder(embedder, { source: SOURCE, precision: 'float16' });
  }
  tf.tidy(() => generator.enterFinetuning(tf.zeros([generator.psiLength])));
  const afterPsi = tf.memory().numTensors;
  exportGenerator(generator, { source: SOURCE });
  expect(tf.memory().numTensors).toBe(afterPsi);
  expect(afterPsi).toBe(before + 1); // psi' itself
  generator.dispose();
  embedder.dispose();
  // Disposing the networks frees their cached kernels with their weights.
  expect(tf.memory().numTensors).toBeLessThanOrEqual(start - (before - start));
});
