import { Random } from '../random';
import type { StoreIndex } from '../store/schema';

export type SplitName = 'train' | 'heldout' | 'all';

export interface SplitOptions {
  /** Share of identities held out from training (self-reenactment evaluation). */
  heldoutFraction: number;
  /** Fixes which identities are held out; independent of the training seed on purpose. */
  splitSeed: number;
}

/**
 * Held-out identities: a seeded shuffle of the sorted identities, the first round(fraction * n)
 * of it (at least one when the fraction is positive and there are two or more; never all).
 * Splitting by identity, not by video, keeps every video of a held-out person unseen.
 */
export function heldoutIdentities(
  identities: readonly string[],
  options: SplitOptions,
): Set<string> {
  const n = identities.length;
  if (options.heldoutFraction <= 0 || n < 2) return new Set();
  const count = Math.min(n - 1, Math.max(1, Math.round(options.heldoutFraction * n)));
  const order = new Random(options.splitSeed).sample(n, n);
  return new Set(order.slice(0, count).map((i) => identities[i]!));
}

/** The video indices (W columns) of a split. */
export function splitVideos(index: StoreIndex, split: SplitName, options: SplitOptions): number[] {
  if (split === 'all') return index.videos.map((_, i) => i);
  const heldout = heldoutIdentities(index.identities, options);
  const wantHeldout = split === 'heldout';
  return index.videos.flatMap((_, i) =>
    heldout.has(index.identities[index.identityOf[i]!]!) === wantHeldout ? [i] : [],
  );
}
