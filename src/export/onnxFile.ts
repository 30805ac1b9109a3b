import { onnx } from 'onnx-proto';
import { UserError } from '../errors';
import { readBytes, writeFileAtomically } from '../fileSystem';
import { printable } from '../oneLine';
import { onnxStructureProblems } from './onnxStructure';

/** Serialises a model after checking its structure, and writes it atomically. */
export async function writeOnnxModel(file: string, model: onnx.ModelProto): Promise<number> {
  const problems = onnxStructureProblems(model);
  // A structural problem here is our bug, not the user's: fail loudly, write nothing.
  if (problems.length > 0) throw new Error(`ONNX export is malformed: ${problems.join('; ')}`);
  const bytes = onnx.ModelProto.encode(model).finish();
  await writeFileAtomically(file, bytes, 'an ONNX file');
  return bytes.length;
}

/** Reads and decodes an ONNX file; a missing or undecodable file is a one-line UserError. */
export async function readOnnxModel(
  file: string,
): Promise<{ model: onnx.ModelProto; bytes: Uint8Array }> {
  const bytes = await readBytes(file, 'an ONNX file');
  let model: onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw new UserError(
      `${printable(file)}: not an ONNX model (${printable(err instanceof Error ? err.message : String(err))})`,
    );
  }
  if (!model.graph) throw new UserError(`${printable(file)}: not an ONNX model (it has no graph)`);
  return { model, bytes };
}
