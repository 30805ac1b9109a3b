import type { onnx } from 'onnx-proto';
import type { Embedder } from '../models/embedder';
import { childNames, lowerGlobalPool, lowerPlainStage, type FeatureShape } from './lowerLayers';
import { OnnxGraphBuilder, type WeightPrecision } from '../formats/onnxGraph';
import { exportMetadata, IO_DOCS, type ExportSource } from './onnxMetadata';

/**
 * The embedder as an ONNX model: inputs `frames` and `landmarks` (NCHW), outputs `embedding`
 * (e per pair) and `mean_embedding` (ê, their mean over the batch), so that feeding a person's
 * K shots as one batch gives the generator's `embedding` input directly.
 */
export function exportEmbedder(
  embedder: Embedder,
  options: { precision?: WeightPrecision; source: ExportSource },
): onnx.ModelProto {
  const { config } = embedder;
  const b = new OnnxGraphBuilder(options.precision);
  const size = config.imageSize;
  const image = ['batch', 3, size, size];
  const frames = b.input({ name: 'frames', shape: image, doc: IO_DOCS.frames });
  const landmarks = b.input({ name: 'landmarks', shape: image, doc: IO_DOCS.landmarks });

  // The trunk sees concat(x, y) on the channel axis: frame channels first, as in tfjs.
  let value = b.node('Concat', [frames, landmarks], { axis: 1 }, 'frames_landmarks');
  let shape: FeatureShape = { channels: 6, height: size, width: size };
  const names = childNames(embedder.trunk);
  for (const layer of embedder.trunk.stages)
    ({ value, shape } = lowerPlainStage(b, layer, value, shape, `trunk.${names.get(layer)!}`));
  const embedding = b.node('Relu', [lowerGlobalPool(b, value, config.embedderPooling)], {}, 'e');
  b.output(embedding, {
    name: 'embedding',
    shape: ['batch', config.embeddingSize],
    doc: IO_DOCS.embedderOutput,
  });
  const mean = b.node('ReduceMean', [embedding], { axes: [0], keepdims: 1 }, 'e_mean');
  b.output(mean, {
    name: 'mean_embedding',
    shape: [1, config.embeddingSize],
    doc: IO_DOCS.meanEmbedding,
  });
  return b.model({
    graphName: 'talking_heads_embedder',
    ...exportMetadata('embedder', config, options),
  });
}
