import type { onnx } from 'onnx-proto';
import { loadMetaNetworks, openMetaCheckpoint } from '../train/metaCheckpoint';
import { openPersonModel, personModelId } from '../train/personModel';
import { exportEmbedder } from './exportEmbedder';
import { exportGenerator } from './exportGenerator';
import type { WeightPrecision } from '../formats/onnxGraph';

/** Which network of a meta-learning checkpoint to export. */
export type MetaPart = 'embedder' | 'generator';

/** A person model's generator, psi' baked in, as an ONNX model. */
export async function exportPersonGenerator(
  personDir: string,
  precision: WeightPrecision = 'float32',
): Promise<onnx.ModelProto> {
  const person = await openPersonModel(personDir);
  try {
    return exportGenerator(person.generator, {
      precision,
      source: { kind: 'person', id: personModelId(person), framing: person.info.framing },
    });
  } finally {
    person.generator.dispose();
  }
}

/** The embedder, or the two-input generator (landmarks, ê), of a meta checkpoint. */
export async function exportMetaPart(
  checkpointPath: string,
  part: MetaPart,
  precision: WeightPrecision = 'float32',
): Promise<onnx.ModelProto> {
  const checkpoint = await openMetaCheckpoint(checkpointPath);
  const networks = await loadMetaNetworks(checkpoint);
  try {
    const source = { kind: 'checkpoint' as const, id: checkpoint.id, framing: checkpoint.framing };
    return part === 'embedder'
      ? exportEmbedder(networks.embedder, { precision, source })
      : exportGenerator(networks.generator, { precision, source });
  } finally {
    Object.values(networks).forEach((network) => network.dispose());
  }
}
