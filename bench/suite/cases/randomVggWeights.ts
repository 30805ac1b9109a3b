import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Random } from '../../../src/data/random';
import { writeSafetensorsFile, type RawTensor } from '../../../src/formats/safetensors';
import { expectedVggTensors, type VggKind } from '../../../src/losses/backbones/vgg';

export interface RandomVggFiles {
  vgg19Weights: string;
  vggfaceWeights: string;
  /** Removes the folder and the files. */
  remove(): void;
}

/**
 * A VGG network's conv tensors in its real layout (torchvision's names for VGG19, vgg_face_dag's
 * for VGG-Face), He-normal kernels and zero biases: the shapes, and so the work, of the real
 * weights, with activations that neither vanish nor blow up through 16 layers.
 */
function randomVggTensors(kind: VggKind, seed: number): Record<string, RawTensor> {
  const random = new Random(seed);
  const tensors: Record<string, RawTensor> = {};
  for (const [name, shape] of Object.entries(expectedVggTensors(kind))) {
    const size = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(size);
    if (name.endsWith('.weight')) {
      const std = Math.sqrt(2 / (shape[1]! * shape[2]! * shape[3]!));
      for (let i = 0; i < size; i++) data[i] = std * random.normal();
    }
    tensors[name] = { dtype: 'F32', shape, data };
  }
  return tensors;
}

/**
 * Writes random VGG19 and VGG-Face weights as .safetensors in a temporary folder, so that a case
 * loads them as a user's `loss.vgg19Weights` / `loss.vggfaceWeights` are loaded.
 */
export async function writeRandomVggWeights(): Promise<RandomVggFiles> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'th-bench-vgg-'));
  const files = {
    vgg19Weights: path.join(dir, 'vgg19.safetensors'),
    vggfaceWeights: path.join(dir, 'vggface.safetensors'),
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
  try {
    await writeSafetensorsFile(files.vgg19Weights, randomVggTensors('vgg19', 19));
    await writeSafetensorsFile(files.vggfaceWeights, randomVggTensors('vggface', 16));
  } catch (err) {
    files.remove();
    throw err;
  }
  return files;
}
