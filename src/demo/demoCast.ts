import { heldoutIdentities, type SplitOptions } from '../data/episodes/split';
import { UserError } from '../errors';
import { printable } from '../oneLine';
import type { DatasetStore } from '../data/store/store';

/** Who the demo animates and whose motion drives it, with the photos they came from. */
export interface DemoCast {
  /** Held out from meta-learning: fine-tuned from 8 shots, then animated. */
  person: { identity: string; photo: string };
  /** Another identity: its synthetic motion is the driving video. */
  driver: { identity: string; photo: string };
  /** Every held-out identity (what `evaluate --split heldout` scores). */
  heldout: string[];
}

/**
 * The demo's cast from a synth store and the run's split: the person is the first held-out
 * identity (sorted), the driver the next held-out one, or the first training identity when only
 * one is held out. Neither was seen in meta-learning unless it is that fallback driver.
 */
export function demoCast(store: DatasetStore, split: SplitOptions): DemoCast {
  const index = store.index();
  const heldout = [...heldoutIdentities(index.identities, split)].sort();
  if (heldout.length === 0)
    throw new UserError(
      `${printable(store.path)}: no identity is held out (${index.identities.length} identities, ` +
        `heldoutFraction ${split.heldoutFraction}); the demo needs one to fine-tune on`,
    );
  const driverIdentity =
    heldout[1] ?? index.identities.find((identity) => !heldout.includes(identity))!;
  const photoOf = (identity: string): string => {
    const key = index.videos.find((_, i) => index.identities[index.identityOf[i]!] === identity);
    const source = key === undefined ? undefined : store.getVideo(key)?.source;
    if (!source) throw new UserError(`${printable(store.path)}: no video of ${identity}`);
    return source;
  };
  return {
    person: { identity: heldout[0]!, photo: photoOf(heldout[0]!) },
    driver: { identity: driverIdentity, photo: photoOf(driverIdentity) },
    heldout,
  };
}
