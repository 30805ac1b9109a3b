import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { UserError } from '../../errors';
import type { EpisodeArrays, EpisodePlan, LoadOptions } from './episodeArrays';

type Reply = { id: number; arrays: EpisodeArrays } | { id: number; error: string; user: boolean };

/**
 * A worker thread that loads episode batches (see episodeWorker.ts). From the TypeScript sources
 * (tests, tsx) the worker registers tsx itself; from dist/ it is plain JavaScript.
 */
export class EpisodeWorkerClient {
  private readonly worker: Worker;
  private readonly pending = new Map<
    number,
    { resolve: (a: EpisodeArrays) => void; reject: (e: Error) => void }
  >();
  private nextId = 0;
  private failure: Error | undefined;
  private readonly exited: Promise<void>;

  constructor(storePath: string, options: LoadOptions) {
    const entry = path.join(__dirname, `episodeWorker${path.extname(__filename)}`);
    const workerData = { storePath, options };
    this.worker = entry.endsWith('.ts')
      ? new Worker(`require('tsx/cjs/api').register(); require(${JSON.stringify(entry)});`, {
          eval: true,
          workerData,
        })
      : new Worker(entry, { workerData });
    this.worker.unref(); // held only while a batch is in flight: an idle loader never keeps Node up
    this.worker.on('message', (reply: Reply) => {
      const waiting = this.pending.get(reply.id);
      if (!waiting) return;
      this.pending.delete(reply.id);
      if (this.pending.size === 0) this.worker.unref();
      if ('arrays' in reply) waiting.resolve(reply.arrays);
      else waiting.reject(reply.user ? new UserError(reply.error) : new Error(reply.error));
    });
    this.worker.on('error', (err) => this.failAll(err));
    this.exited = new Promise((resolve) =>
      this.worker.on('exit', () => {
        this.failAll(new Error('the episode loader thread stopped'));
        resolve();
      }),
    );
  }

  load(plans: EpisodePlan[]): Promise<EpisodeArrays> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.ref();
      this.worker.postMessage({ id, plans });
    });
  }

  /** Closes the store in the thread and waits for it to end. */
  async close(): Promise<void> {
    this.worker.ref();
    this.worker.postMessage('close');
    await this.exited;
  }

  private failAll(err: Error): void {
    this.failure ??= err;
    for (const { reject } of this.pending.values()) reject(err);
    this.pending.clear();
  }
}
