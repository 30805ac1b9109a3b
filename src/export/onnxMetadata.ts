import type { onnx } from 'onnx-proto';
import type { ModelConfig, OutputActivation } from '../models/config';
import { packageVersion } from '../packageVersion';
import type { WeightPrecision } from '../formats/onnxGraph';

/** Which network an exported file holds. */
export type ExportPart = 'person-generator' | 'generator' | 'embedder';

/** What the weights came from: a person model or a meta-learning checkpoint. */
export interface ExportSource {
  kind: 'person' | 'checkpoint';
  /** The checkpoint id (`step-N-<sha>`) or person model id. */
  id: string;
  /** How training framed faces, so deployments draw landmark images the same way. */
  framing?: { size: number; crop: unknown; background: 'black' | 'white' };
}

/** The documentation of every graph input and output, also written into the file. */
export const IO_DOCS = {
  landmarks:
    'Landmark images, float32 NCHW [batch, 3, size, size], RGB in [0, 1]: the 68 face ' +
    "landmarks drawn as coloured polylines on the background the model was trained with (see metadata 'talking_heads.framing').",
  frames:
    'Face frames, float32 NCHW [batch, 3, size, size], RGB in [0, 1], cropped as in training.',
  embedding:
    "ê: person embeddings, float32 [1 or batch, embeddingSize]: the embedder's mean_embedding (one ê for every landmark image) or one per landmark image.",
  embedderOutput:
    'e: one embedding per (frame, landmark image) pair, float32 [batch, embeddingSize], >= 0.',
  meanEmbedding:
    'ê: the mean of embedding over the batch, float32 [1, embeddingSize]; feed the K shots of one person as the batch.',
  frame: (activation: OutputActivation) =>
    `Generated frames, float32 NCHW [batch, 3, size, size], RGB trained towards [0, 1]${activation === 'sigmoid' ? '' : ' (a tanh output: clip below 0)'}.`,
} as const;

const KEY = {
  part: 'talking_heads.part',
  source: 'talking_heads.source',
  imageSize: 'talking_heads.image_size',
  config: 'talking_heads.model_config',
  weights: 'talking_heads.weights',
  framing: 'talking_heads.framing',
  layout: 'talking_heads.layout',
} as const;

const PART_DOCS: Record<ExportPart, string> = {
  'person-generator':
    "A fine-tuned talking-heads generator with the person's AdaIN parameters psi' baked in: landmarks -> frame.",
  generator:
    'The meta-learned talking-heads generator: (landmarks, embedding ê) -> frame, with psi = P·ê computed in the graph.',
  embedder:
    'The talking-heads embedder: (frames, landmarks) -> embedding e per pair, and mean_embedding ê over the batch.',
};

/** The model-level doc string, metadata and producer version of an export. */
export function exportMetadata(
  part: ExportPart,
  config: ModelConfig,
  options: { precision?: WeightPrecision; source: ExportSource },
): { doc: string; metadata: Record<string, string>; producerVersion: string } {
  const metadata: Record<string, string> = {
    [KEY.part]: part,
    [KEY.source]: `${options.source.kind}:${options.source.id}`,
    [KEY.imageSize]: String(config.imageSize),
    [KEY.config]: JSON.stringify(config),
    [KEY.weights]: options.precision ?? 'float32',
    [KEY.layout]: 'NCHW',
  };
  if (options.source.framing) metadata[KEY.framing] = JSON.stringify(options.source.framing);
  return { doc: PART_DOCS[part], metadata, producerVersion: packageVersion() };
}

/** What an exported file says about itself; undefined fields were not written by us. */
export interface ExportInfo {
  part: ExportPart | undefined;
  source: string | undefined;
  config: ModelConfig | undefined;
  weights: WeightPrecision | undefined;
}

export function readExportInfo(model: onnx.IModelProto): ExportInfo {
  const props = new Map((model.metadataProps ?? []).map((p) => [p.key ?? '', p.value ?? '']));
  const part = props.get(KEY.part);
  const weights = props.get(KEY.weights);
  const configJson = props.get(KEY.config);
  return {
    part: part && part in PART_DOCS ? (part as ExportPart) : undefined,
    source: props.get(KEY.source),
    config: configJson ? (JSON.parse(configJson) as ModelConfig) : undefined,
    weights: weights === 'float32' || weights === 'float16' ? weights : undefined,
  };
}
