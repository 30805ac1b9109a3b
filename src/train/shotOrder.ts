import { Random } from '../data/random';

/**
 * The shots of fine-tuning step `step` (0-based): one shuffle per epoch from the seed and the
 * epoch, cut into batches, so a resumed run sees the same order. The last batch of an epoch may
 * be short.
 */
export function shotBatchAt(
  step: number,
  options: { shots: number; batchSize: number; seed: number },
): number[] {
  const { shots, batchSize, seed } = options;
  const stepsPerEpoch = Math.ceil(shots / batchSize);
  const epoch = Math.floor(step / stepsPerEpoch);
  const order = new Random(seed * 7919 + epoch).sample(shots, shots);
  const first = (step % stepsPerEpoch) * batchSize;
  return order.slice(first, first + batchSize);
}
