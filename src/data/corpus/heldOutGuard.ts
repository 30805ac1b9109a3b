import { UserError } from '../../errors';
import { printable, quote } from '../../oneLine';
import { DatasetStore } from '../store/store';
import { heldOutNameOf } from './bundledMedia';

/**
 * Refuses a store that holds any video of the held-out media (the webcam speaker, the Mona
 * Lisa): they are the test of few-shot learning, and a model that meta-learned them would pass
 * it by memory. `store` is a path or an open store.
 */
export async function assertNoHeldOut(store: string | DatasetStore): Promise<void> {
  const open = typeof store === 'string' ? DatasetStore.open(store) : store;
  try {
    for (const key of open.videoKeys()) {
      const video = open.videoInfo(key);
      const name = video && heldOutNameOf(video);
      if (name)
        throw new UserError(
          `${printable(open.path)}: video ${quote(key)} is held-out data (${name}), the test of ` +
            'few-shot learning; meta-learning never sees it (make the store without it, e.g. with `talking-heads corpus`)',
        );
    }
  } finally {
    if (typeof store === 'string') await open.close();
  }
}
