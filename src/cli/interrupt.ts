import type { Logger } from '../log';

/**
 * Runs `work` with a signal that the first Ctrl-C aborts, so a long run can stop at a clean point
 * (after the item in hand) and leave resumable state; a second Ctrl-C gets Node's default: exit.
 */
export async function stoppableByCtrlC<T>(
  log: Logger,
  what: string,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  const onInterrupt = () => {
    log.warn(`interrupted: stopping after the current ${what} (Ctrl-C again to kill)`);
    controller.abort();
    process.removeListener('SIGINT', onInterrupt);
  };
  process.on('SIGINT', onInterrupt);
  try {
    return await work(controller.signal);
  } finally {
    process.removeListener('SIGINT', onInterrupt);
  }
}
