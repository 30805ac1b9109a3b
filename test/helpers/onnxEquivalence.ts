import * as tf from '@tensorflow/tfjs';
import { exportEmbedder } from '../../src/export/exportEmbedder';
import { exportGenerator } from '../../src/export/exportGenerator';
import type { WeightPrecision } from '../../src/formats/onnxGraph';
import { onnxStructureProblems } from '../../src/export/onnxStructure';
import type { ModelConfig } from '../../src/models/config';
import { Embedder } from '../../src/models/embedder';
import { Generator } from '../../src/models/generator';
import { maxAbsDiff } from './compare';
import { nchwValues, randomizeWeights, runOnnx } from './onnx';

const SOURCE = { kind: 'checkpoint' as const, id: 'test' };

/** One comparison: onnxruntime against tfjs for a batch size. */
export interface Agreement {
  batch: number;
  maxAbsDiff: number;
  /** The largest |value| tfjs gave, so a test can see the outputs were not all ~0. */
  scale: number;
}

function maxAbs(values: Float32Array): number {
  let max = 0;
  for (const v of values) max = Math.max(max, Math.abs(v));
  return max;
}

function rows(values: Float32Array, batch: number, take: number): Float32Array {
  return values.subarray(0, (values.length / batch) * take);
}

function agreements(
  reference: Float32Array,
  batch: number,
  outputs: Map<number, Float32Array>,
): Agreement[] {
  return [...outputs].map(([n, got]) => {
    const want = rows(reference, batch, n);
    return { batch: n, maxAbsDiff: maxAbsDiff(got, want), scale: maxAbs(want) };
  });
}

/**
 * Builds a randomly weighted generator and embedder of `config`, exports them (person generator
 * with psi' baked in, two-input generator, embedder) and runs each in onnxruntime at each batch
 * size. The tfjs reference runs once at the largest batch; a smaller batch is compared with its
 * first rows (every op is per sample, so those are the same numbers).
 */
export async function compareExports(
  config: ModelConfig,
  options: { seed: number; batches: number[]; precision?: WeightPrecision },
): Promise<{
  personGenerator: Agreement[];
  generator: Agreement[];
  embedder: Agreement[];
  meanEmbedding: Agreement[];
  structure: string[];
}> {
  const { seed, batches, precision } = options;
  const batch = Math.max(...batches);
  const s = config.imageSize;
  const generator = new Generator(config, { seed });
  const embedder = new Embedder(config, { seed: seed + 1 });
  randomizeWeights(generator, seed + 2);
  randomizeWeights(embedder, seed + 3);
  const y = tf.randomUniform([batch, s, s, 3], 0, 1, 'float32', seed + 4) as tf.Tensor4D;
  const x = tf.randomUniform([batch, s, s, 3], 0, 1, 'float32', seed + 5) as tf.Tensor4D;
  const e = tf.abs(
    tf.randomNormal([batch, config.embeddingSize], 0, 1, 'float32', seed + 6),
  ) as tf.Tensor2D;
  const yValues = nchwValues(y);
  const xValues = nchwValues(x);
  const eValues = Float32Array.from(e.dataSync());
  const image = (n: number): number[] => [n, 3, s, s];
  const structure: string[] = [];
  const run = async (
    model: ReturnType<typeof exportGenerator>,
    feeds: (n: number) => Record<string, [Float32Array, number[]]>,
    output: string,
  ) => {
    structure.push(...onnxStructureProblems(model));
    const out = new Map<number, Float32Array>();
    for (const n of batches) out.set(n, (await runOnnx(model, feeds(n)))[output]!);
    return out;
  };
  try {
    const landmarksFeed = (n: number): [Float32Array, number[]] => [
      rows(yValues, batch, n),
      image(n),
    ];

    const metaReference = tf.tidy(() => nchwValues(generator.generate(y, e)));
    const metaModel = exportGenerator(generator, { precision, source: SOURCE });
    const metaOutputs = await run(
      metaModel,
      (n) => ({
        landmarks: landmarksFeed(n),
        embedding: [rows(eValues, batch, n), [n, config.embeddingSize]],
      }),
      'frame',
    );

    const psi = tf.randomNormal([generator.psiLength], 0, 0.3, 'float32', seed + 7);
    generator.enterFinetuning(psi);
    psi.dispose();
    const personReference = tf.tidy(() => nchwValues(generator.generate(y)));
    const personModel = exportGenerator(generator, { precision, source: SOURCE });
    const personOutputs = await run(personModel, (n) => ({ landmarks: landmarksFeed(n) }), 'frame');

    const [eReference, meanReference] = tf.tidy(() => {
      const embedding = embedder.embed(x, y);
      return [embedding.dataSync(), tf.mean(embedding, 0).dataSync()].map((v) =>
        Float32Array.from(v),
      ) as [Float32Array, Float32Array];
    });
    const embedderModel = exportEmbedder(embedder, { precision, source: SOURCE });
    structure.push(...onnxStructureProblems(embedderModel));
    const embeddings = new Map<number, Float32Array>();
    const means = new Map<number, Float32Array>();
    for (const n of batches) {
      const out = await runOnnx(embedderModel, {
        frames: [rows(xValues, batch, n), image(n)],
        landmarks: landmarksFeed(n),
      });
      embeddings.set(n, out.embedding!);
      means.set(n, out.mean_embedding!);
    }
    // ê of the first n rows: the mean the graph takes over its batch.
    const meanOfRows = (n: number) =>
      tf.tidy(() =>
        Float32Array.from(
          tf
            .mean(tf.slice(tf.tensor2d(eReference, [batch, config.embeddingSize]), 0, n), 0)
            .dataSync(),
        ),
      );
    return {
      generator: agreements(metaReference, batch, metaOutputs),
      personGenerator: agreements(personReference, batch, personOutputs),
      embedder: agreements(eReference, batch, embeddings),
      meanEmbedding: [...means].map(([n, got]) => {
        const want = n === batch ? meanReference : meanOfRows(n);
        return { batch: n, maxAbsDiff: maxAbsDiff(got, want), scale: maxAbs(want) };
      }),
      structure,
    };
  } finally {
    generator.dispose();
    embedder.dispose();
    tf.dispose([x, y, e]);
  }
}
