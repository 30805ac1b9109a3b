import * as tf from '@tensorflow/tfjs';
import * as CRC32 from 'crc-32';

type Initializer = ReturnType<typeof tf.initializers.zeros>;

/**
 * A weight's initial seed from the run's seed and the weight's path in its network: a hash, so
 * that no arithmetic on seeds (seed + 10 * i) can give two weights the same random stream.
 */
export function weightSeed(seed: number, path: string): number {
  return CRC32.str(`${seed}/${path}`) >>> 0;
}

/**
 * The same initializer with another seed; constant ones (zeros, ones), which take no seed, as
 * they are. Every tfjs initializer accepts its own config back.
 */
export function withSeed(initializer: Initializer, seed: number): Initializer {
  const config = initializer.getConfig();
  if (!('seed' in config)) return initializer;
  const Initializer = initializer.constructor as new (args: object) => Initializer;
  return new Initializer({ ...config, seed });
}
