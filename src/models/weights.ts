import { UserError } from '../errors';
import type { LayerVariable, ModuleLayer } from './layers/moduleLayer';
import {
  rawToTensor,
  readSafetensorsFile,
  tensorToRaw,
  writeSafetensorsFile,
  type RawTensor,
} from '../formats/safetensors';
import { sameShape } from '../formats/shape';

/** Networks by the name that prefixes their weights in a file, e.g. { generator: G }. */
export type NamedModules = Record<string, ModuleLayer>;

/** Every weight of the networks under its stable name ('generator.down1.conv1.kernel'). */
export function collectWeights(modules: NamedModules): Map<string, LayerVariable> {
  const out = new Map<string, LayerVariable>();
  for (const [prefix, module] of Object.entries(modules)) {
    for (const [name, weight] of module.namedWeights(`${prefix}.`)) out.set(name, weight);
  }
  return out;
}

/** Writes the networks' weights (spectral-norm u vectors included) to a .safetensors file, atomically. */
export async function saveWeights(
  file: string,
  modules: NamedModules,
  metadata: Record<string, string> = {},
): Promise<void> {
  const tensors: Record<string, RawTensor> = {};
  for (const [name, weight] of collectWeights(modules)) tensors[name] = tensorToRaw(weight.read());
  await writeSafetensorsFile(file, tensors, { format: 'talking-heads', ...metadata });
}

export interface LoadWeightsOptions {
  /**
   * Names neither loaded nor required, in the file or in the networks: e.g. W of a fine-tuning
   * discriminator (a person needs no per-video columns), or a whole network the file also holds
   * ('discriminator.' when only the generator is wanted).
   */
  skip?: (name: string) => boolean;
}

/**
 * Loads weights saved by saveWeights into built networks of the same configuration. Every
 * expected tensor must be there with the same shape, and no other: a file for another model is
 * a UserError naming the file and the first offending tensor. Returns the file's metadata.
 */
export async function loadWeights(
  file: string,
  modules: NamedModules,
  options: LoadWeightsOptions = {},
): Promise<Record<string, string>> {
  const skip = options.skip ?? (() => false);
  const { tensors: all, metadata } = await readSafetensorsFile(file);
  const tensors = Object.fromEntries(Object.entries(all).filter(([name]) => !skip(name)));
  const expected = new Map([...collectWeights(modules)].filter(([name]) => !skip(name)));
  for (const [name, weight] of expected) {
    const raw = tensors[name];
    if (raw == null) throw new UserError(`${file}: missing tensor '${name}'`);
    const shape = weight.shape as number[];
    if (!sameShape(raw.shape, shape)) {
      throw new UserError(
        `${file}: tensor '${name}' has shape [${raw.shape}], the model needs [${shape}]`,
      );
    }
  }
  const unexpected = Object.keys(tensors).filter((name) => !expected.has(name));
  if (unexpected.length > 0) {
    const more = unexpected.length > 1 ? ` (and ${unexpected.length - 1} more)` : '';
    throw new UserError(
      `${file}: unexpected tensor '${unexpected[0]}'${more}: weights of another model?`,
    );
  }
  for (const [name, weight] of expected) {
    const value = rawToTensor(tensors[name]!, `${file}: ${name}`);
    weight.write(value);
    value.dispose();
  }
  return metadata;
}
