import type { Progress } from '../progress';
import type { Logger } from '../log';
import type { FaceLandmarker } from './landmarks/landmarker';
import type { StoreSettings } from './store/schema';

/** What every long run that fills a store (preprocess, synth) is given. */
export interface StoreRunOptions {
  /** The LMDB store directory (created, or resumed). */
  out: string;
  settings: StoreSettings;
  /** Called once the input and the store have been checked, so bad input fails fast. */
  loadLandmarker: () => Promise<FaceLandmarker>;
  log: Logger;
  progress?: (total: number) => Progress;
  /** Stops after the item in hand (Ctrl-C); the store stays consistent and resumable. */
  signal?: AbortSignal;
}
