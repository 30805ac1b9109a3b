import type { StoreRunOptions } from '../data/storeRun';
import type { CommandContext } from './context';
import { loadFaceLandmarker } from './loadLandmarker';

/** The parts of a store-filling run that come from the CLI: face finder, logs, progress bar. */
export function storeRunContext(
  ctx: CommandContext,
  unit: string,
): Pick<StoreRunOptions, 'loadLandmarker' | 'log' | 'progress'> {
  return {
    // Loaded on demand: the backend starts only once the input and store have been checked.
    loadLandmarker: async () => {
      await ctx.initBackend({ kind: 'faces' });
      return loadFaceLandmarker();
    },
    log: ctx.log,
    progress: (total) => ctx.progress(total, unit),
  };
}
