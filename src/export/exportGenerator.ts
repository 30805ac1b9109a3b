import type { onnx } from 'onnx-proto';
import type { Generator } from '../models/generator';
import {
  childNames,
  constantPsi,
  floats,
  graphPsi,
  lowerConv,
  lowerLeakyRelu,
  lowerPlainStage,
  lowerPsiStage,
  type FeatureShape,
  type PsiSource,
} from './lowerLayers';
import { OnnxGraphBuilder, type WeightPrecision } from '../formats/onnxGraph';
import { exportMetadata, IO_DOCS, type ExportSource } from './onnxMetadata';

/**
 * The generator as an ONNX model. A generator in fine-tuning mode (a person model) has psi'
 * baked in as constants and one input, `landmarks`; one in meta mode takes `landmarks` and
 * `embedding` (ê) and computes psi = P·ê in the graph. Output `frame`. All NCHW.
 */
export function exportGenerator(
  generator: Generator,
  options: { precision?: WeightPrecision; source: ExportSource },
): onnx.ModelProto {
  const { config } = generator;
  const layout = generator.layout();
  const b = new OnnxGraphBuilder(options.precision);
  const size = config.imageSize;
  const image = ['batch', 3, size, size];
  const baked = layout.psiPrime !== undefined;
  const landmarks = b.input({ name: 'landmarks', shape: image, doc: IO_DOCS.landmarks });

  let psi: PsiSource & { used(): number };
  if (layout.psiPrime) {
    psi = constantPsi(floats(layout.psiPrime));
  } else {
    const embedding = b.input({
      name: 'embedding',
      // 1 or batch: psi [1, ...] broadcasts over the landmark images, so one ê drives them all.
      shape: ['embedding_batch', config.embeddingSize],
      doc: IO_DOCS.embedding,
    });
    // P is a plain kernel (no spectral norm): [embeddingSize, psiLength], used as ê·P.
    const projection = layout.projection.effectiveKernel(false);
    const weight = b.weight('projection.weight', floats(projection), projection.shape);
    psi = graphPsi(b.node('MatMul', [embedding, weight], {}, 'psi'));
  }

  const names = childNames(generator);
  let value = landmarks;
  let shape: FeatureShape = { channels: 3, height: size, width: size };
  for (const layer of layout.down)
    ({ value, shape } = lowerPlainStage(b, layer, value, shape, names.get(layer)!));
  for (const { layer } of layout.up)
    ({ value, shape } = lowerPsiStage(b, layer, value, shape, psi, names.get(layer)!));
  value = lowerLeakyRelu(b, psi.adain(b, value, shape.channels, 'adainOut'), config.leakySlope);
  value = lowerConv(b, layout.outConv, value, 'outConv');
  value = b.node(config.outputActivation === 'sigmoid' ? 'Sigmoid' : 'Tanh', [value]);
  b.output(value, { name: 'frame', shape: image, doc: IO_DOCS.frame(config.outputActivation) });

  const psiLength = layout.psiParts.reduce((a, n) => a + n, 0);
  if (psi.used() !== psiLength)
    throw new Error(`the export used ${psi.used()} of psi's ${psiLength} values`);
  return b.model({
    graphName: baked ? 'talking_heads_person_generator' : 'talking_heads_generator',
    ...exportMetadata(baked ? 'person-generator' : 'generator', config, options),
  });
}
