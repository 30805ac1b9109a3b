/**
 * Worker-thread entry of the episode loader: opens the store read-only once, then answers each
 * { id, plans } with the loaded arrays, their buffers transferred rather than copied. Running
 * here, reading and decoding go on while the main thread is busy in a (synchronous) training step.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { DatasetStore } from '../store/store';
import {
  loadEpisodeArrays,
  transferList,
  type EpisodePlan,
  type LoadOptions,
} from './episodeArrays';

interface Init {
  storePath: string;
  options: LoadOptions;
}

const { storePath, options } = workerData as Init;
const store = DatasetStore.open(storePath);

parentPort!.on('message', (message: { id: number; plans: EpisodePlan[] } | 'close') => {
  if (message === 'close') {
    void store.close().then(() => parentPort!.close());
    return;
  }
  loadEpisodeArrays(store, message.plans, options).then(
    (arrays) => parentPort!.postMessage({ id: message.id, arrays }, transferList(arrays)),
    (err: unknown) =>
      parentPort!.postMessage({
        id: message.id,
        error: err instanceof Error ? err.message : String(err),
        user: (err as { name?: string }).name === 'UserError',
      }),
  );
});
