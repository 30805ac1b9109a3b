import type * as Ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { exportGenerator } from '../src/export/exportGenerator';
import type { WeightPrecision } from '../src/formats/onnxGraph';
import type { Generator } from '../src/models/generator';

type OnnxRuntime = typeof Ort;

/**
 * An onnxruntime session of a person generator (psi' baked in), exported in memory. `threads`
 * sets onnxruntime's intra-op threads; undefined keeps its default (one per core).
 */
export function generatorSession(
  ort: OnnxRuntime,
  generator: Generator,
  precision: WeightPrecision,
  threads?: number,
): Promise<Ort.InferenceSession> {
  const model = exportGenerator(generator, { precision, source: { kind: 'person', id: 'bench' } });
  return ort.InferenceSession.create(
    onnx.ModelProto.encode(model).finish(),
    threads ? { intraOpNumThreads: threads, interOpNumThreads: 1 } : {},
  );
}

/** The generator's input: a batch of mid-grey NCHW landmark images. */
export function landmarkFeeds(
  ort: OnnxRuntime,
  batch: number,
  size: number,
): Record<string, Ort.Tensor> {
  const pixels = new Float32Array(batch * 3 * size * size).fill(0.5);
  return { landmarks: new ort.Tensor('float32', pixels, [batch, 3, size, size]) };
}
