import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { InferenceSession } from 'onnxruntime-node';
import { Random } from '../data/random';
import { rasteriseLandmarks } from '../data/landmarks/rasterise';
import { POINT_COUNT, type Points } from '../data/landmarks/points';
import { UserError } from '../errors';
import type { ModelConfig } from '../models/config';
import { printable } from '../oneLine';
import { loadMetaNetworks, openMetaCheckpoint } from '../train/metaCheckpoint';
import { openPersonModel, PERSON_FILE } from '../train/personModel';
import { readOnnxModel } from './onnxFile';
import { readExportInfo, type ExportPart } from './onnxMetadata';
import { onnxStructureProblems } from './onnxStructure';
import type { WeightPrecision } from '../formats/onnxGraph';

/** One output's agreement between onnxruntime and tfjs at one batch size. */
export interface OutputDifference {
  output: string;
  maxAbsDiff: number;
  meanAbsDiff: number;
  /** The largest |value| tfjs gave: a difference means little when the outputs are all ~0. */
  maxAbsValue: number;
}

export interface OnnxCheckRun {
  batch: number;
  outputs: OutputDifference[];
  /** Wall time of one onnxruntime run and of the tfjs forward pass, same inputs. */
  onnxMs: number;
  tfjsMs: number;
}

export interface OnnxCheckReport {
  part: ExportPart;
  weights: WeightPrecision;
  /** Where the file says its weights came from, and what it was checked against. */
  source: string;
  against: string;
  /** Structural problems of the file (empty when sound). */
  structure: string[];
  runs: OnnxCheckRun[];
  maxAbsDiff: number;
}

/** Random network inputs, NHWC for tfjs and NCHW for onnxruntime, by graph input name. */
interface Inputs {
  tfjs: Record<string, tf.Tensor>;
  onnx: Record<string, { data: Float32Array; dims: number[] }>;
}

/** The tfjs model an export is checked against. */
interface Reference {
  config: ModelConfig;
  background: 'black' | 'white';
  /** Mean landmarks to jitter for the landmark images (a person's); random points without. */
  points: Points | undefined;
  /** The tfjs outputs, NCHW like the graph's, by graph output name. */
  outputs(inputs: Inputs): Record<string, tf.Tensor>;
  dispose(): void;
}

/**
 * Runs an exported model in onnxruntime-node and the tfjs model it came from on the same random
 * landmark images (and frames, and ê), and reports the largest absolute difference per output.
 */
export async function checkOnnxModel(
  file: string,
  against: string,
  options: { batches?: number[]; seed?: number } = {},
): Promise<OnnxCheckReport> {
  const { model, bytes } = await readOnnxModel(file);
  const info = readExportInfo(model);
  if (!info.part || !info.config)
    throw new UserError(`${printable(file)}: not an ONNX export of talking-heads (no metadata)`);
  const ort = loadOnnxRuntime();
  const reference = await openReference(info.part, against, file);
  try {
    if (reference.config.imageSize !== info.config.imageSize) {
      throw new UserError(
        `${printable(file)}: exported at ${info.config.imageSize} px, but ${printable(against)} ` +
          `works at ${reference.config.imageSize} px`,
      );
    }
    let session: InferenceSession;
    try {
      session = await ort.InferenceSession.create(bytes);
    } catch (err) {
      throw new UserError(
        `${printable(file)}: onnxruntime cannot load it: ${printable(String((err as Error).message ?? err))}`,
      );
    }
    const random = new Random(options.seed ?? 0);
    const runs: OnnxCheckRun[] = [];
    try {
      for (const batch of options.batches ?? [1, 3]) {
        runs.push(await compareOnce(ort, session, reference, info.part, batch, random));
      }
    } finally {
      await session.release();
    }
    return {
      part: info.part,
      weights: info.weights ?? 'float32',
      source: info.source ?? 'unknown',
      against,
      structure: onnxStructureProblems(model),
      runs,
      maxAbsDiff: Math.max(...runs.flatMap((r) => r.outputs.map((o) => o.maxAbsDiff))),
    };
  } finally {
    reference.dispose();
  }
}

type OnnxRuntime = typeof import('onnxruntime-node');

/** onnxruntime-node is a development dependency: say how to get it when it is missing. */
export function loadOnnxRuntime(): OnnxRuntime {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('onnxruntime-node') as OnnxRuntime;
  } catch {
    throw new UserError(
      'onnx-check needs onnxruntime-node, a development dependency: run `npm install onnxruntime-node`',
    );
  }
}

async function compareOnce(
  ort: OnnxRuntime,
  session: InferenceSession,
  reference: Reference,
  part: ExportPart,
  batch: number,
  random: Random,
): Promise<OnnxCheckRun> {
  const inputs = randomInputs(reference, part, batch, random);
  try {
    const feeds = Object.fromEntries(
      Object.entries(inputs.onnx).map(([name, { data, dims }]) => [
        name,
        new ort.Tensor('float32', data, dims),
      ]),
    );
    let start = performance.now();
    const results = await session.run(feeds);
    const onnxMs = performance.now() - start;
    start = performance.now();
    const expected = reference.outputs(inputs);
    const expectedValues = Object.fromEntries(
      Object.entries(expected).map(([name, t]) => [name, t.dataSync() as Float32Array]),
    );
    const tfjsMs = performance.now() - start;
    Object.values(expected).forEach((t) => t.dispose());
    const outputs = Object.entries(expectedValues).map(([output, want]) => {
      const got = results[output]?.data as Float32Array | undefined;
      if (!got || got.length !== want.length)
        throw new UserError(`the ONNX model's output '${output}' is missing or has the wrong size`);
      return { output, ...differences(got, want) };
    });
    return { batch, outputs, onnxMs, tfjsMs };
  } finally {
    Object.values(inputs.tfjs).forEach((t) => t.dispose());
  }
}

function differences(got: Float32Array, want: Float32Array): Omit<OutputDifference, 'output'> {
  let max = 0;
  let sum = 0;
  let scale = 0;
  for (let i = 0; i < got.length; i++) {
    const d = Math.abs(got[i]! - want[i]!);
    // NaN anywhere must fail the check: Math.max propagates it.
    max = Math.max(max, d);
    sum += d;
    scale = Math.max(scale, Math.abs(want[i]!));
  }
  return { maxAbsDiff: max, meanAbsDiff: sum / got.length, maxAbsValue: scale };
}

/** Adds an NHWC tfjs tensor and its NCHW copy for onnxruntime under one graph input name. */
function addImageInput(inputs: Inputs, name: string, nhwc: tf.Tensor4D): void {
  inputs.tfjs[name] = nhwc;
  const nchw = tf.tidy(() => tf.transpose(nhwc, [0, 3, 1, 2]));
  inputs.onnx[name] = { data: Float32Array.from(nchw.dataSync()), dims: nchw.shape };
  nchw.dispose();
}

function randomInputs(
  reference: Reference,
  part: ExportPart,
  batch: number,
  random: Random,
): Inputs {
  const size = reference.config.imageSize;
  const inputs: Inputs = { tfjs: {}, onnx: {} };
  const landmarks = randomLandmarkImages(batch, size, reference, random);
  addImageInput(inputs, 'landmarks', tf.tensor4d(landmarks, [batch, size, size, 3]));
  if (part === 'embedder') {
    const frames = Float32Array.from({ length: batch * size * size * 3 }, () => random.next());
    addImageInput(inputs, 'frames', tf.tensor4d(frames, [batch, size, size, 3]));
  }
  if (part === 'generator') {
    // ê: non-negative like the embedder's output (a ReLU), of unit scale.
    const dims = [batch, reference.config.embeddingSize];
    const data = Float32Array.from({ length: batch * dims[1]! }, () => Math.abs(random.normal()));
    inputs.tfjs.embedding = tf.tensor2d(data, dims as [number, number]);
    inputs.onnx.embedding = { data, dims };
  }
  return inputs;
}

/**
 * Landmark images drawn from random points: a person's mean landmarks moved, scaled and
 * jittered, or, without them, 68 points scattered over the middle of the image.
 */
function randomLandmarkImages(
  count: number,
  size: number,
  reference: Reference,
  random: Random,
): Float32Array {
  const image = size * size * 3;
  const out = new Float32Array(count * image);
  for (let k = 0; k < count; k++) {
    const points = new Float32Array(POINT_COUNT * 2);
    const scale = random.uniform(0.9, 1.1);
    const [dx, dy] = [random.uniform(-0.05, 0.05) * size, random.uniform(-0.05, 0.05) * size];
    for (let i = 0; i < points.length; i++) {
      const jitter = random.normal() * size * 0.01;
      points[i] = reference.points
        ? (reference.points[i]! - size / 2) * scale + size / 2 + (i % 2 ? dy : dx) + jitter
        : random.uniform(0.2, 0.8) * size;
    }
    rasteriseLandmarks(points, { size, background: reference.background }, out, k * image);
  }
  return out;
}

const toNchw = (t: tf.Tensor) => tf.transpose(t, [0, 3, 1, 2]);

/** The tfjs network an export is compared with: from a person model or a meta checkpoint. */
async function openReference(part: ExportPart, against: string, file: string): Promise<Reference> {
  const isPerson = fs.existsSync(path.join(against, PERSON_FILE));
  if ((part === 'person-generator') !== isPerson) {
    throw new UserError(
      part === 'person-generator'
        ? `${printable(file)} is a person's generator: check it --against the person model it was exported from`
        : `${printable(file)} is a meta-learned ${part}: check it --against its meta-learning checkpoint, not a person model`,
    );
  }
  if (isPerson) {
    const person = await openPersonModel(against);
    return {
      config: person.info.model,
      background: person.info.framing.background,
      points: Float32Array.from(person.info.meanPoints),
      outputs: ({ tfjs }) =>
        tf.tidy(() => ({
          frame: toNchw(person.generator.generate(tfjs.landmarks as tf.Tensor4D)),
        })),
      dispose: () => person.generator.dispose(),
    };
  }
  const checkpoint = await openMetaCheckpoint(against);
  const { embedder, generator, discriminator } = await loadMetaNetworks(checkpoint);
  const config = checkpoint.trainConfig.model;
  return {
    config,
    background: checkpoint.framing.background,
    points: undefined,
    outputs: ({ tfjs }) =>
      tf.tidy((): Record<string, tf.Tensor> => {
        if (part === 'embedder') {
          const e = embedder.embed(tfjs.frames as tf.Tensor4D, tfjs.landmarks as tf.Tensor4D);
          return { embedding: e, mean_embedding: tf.mean(e, 0, true) };
        }
        const frame = generator.generate(
          tfjs.landmarks as tf.Tensor4D,
          tfjs.embedding as tf.Tensor2D,
        );
        return { frame: toNchw(frame) };
      }),
    dispose: () => [embedder, generator, discriminator].forEach((n) => n.dispose()),
  };
}
