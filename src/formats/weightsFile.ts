/**
 * Reads a weights file whatever its format, told apart by content rather than by name:
 * users rename files, and torchvision's '.pth' files come in more than one layout.
 */
import { readBytes } from '../fileSystem';
import { decodeSafetensors, type RawTensor } from './safetensors';
import { readTorchCheckpoint, torchLayout } from './torchCheckpoint';

export type WeightsFormat = 'safetensors' | 'pytorch';

export interface WeightsFile {
  format: WeightsFormat;
  tensors: Record<string, RawTensor>;
}

/**
 * The tensors of a .safetensors file or a PyTorch checkpoint (its state dict). Every failure,
 * from a missing file to a corrupt tensor, is a one-line UserError naming the file.
 */
export async function readWeightsFile(file: string): Promise<WeightsFile> {
  const bytes = await readBytes(file, 'a weights file');
  if (weightsFormat(bytes) === 'pytorch')
    return { format: 'pytorch', tensors: readTorchCheckpoint(bytes, file).tensors };
  return { format: 'safetensors', tensors: decodeSafetensors(bytes, file).tensors };
}

/**
 * A PyTorch checkpoint starts with a zip or pickle signature; a .safetensors file with its
 * header length, which could only match the zip one for a 67 MB header.
 */
export function weightsFormat(bytes: Uint8Array): WeightsFormat {
  const layout = torchLayout(bytes);
  if (layout === 'zip' || layout === 'legacy') return 'pytorch';
  // The tar signature sits at byte 257, which a safetensors header may contain; a tar starts
  // with a file name, which read as a header length is far past the end of the file.
  if (layout === 'tar' && !plausibleSafetensors(bytes)) return 'pytorch';
  return 'safetensors';
}

function plausibleSafetensors(bytes: Uint8Array): boolean {
  if (bytes.length < 8) return false;
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  return headerLength <= BigInt(bytes.length - 8);
}
