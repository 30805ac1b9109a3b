import type { Logger } from '../log';

/**
 * Runs `work` with a signal that the first Ctrl-C (or SIGTERM, as batch schedulers send before a
 * kill) aborts, so a long run can stop at a clean point (after the item in hand) and leave
 * resumable state; a second one gets Node's default: exit.
 */
export async function stoppableByCtrlC<T>(
  log: Logger,
  what: string,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  const signals = ['SIGINT', 'SIGTERM'] as const;
  const stopListening = () => signals.forEach((s) => process.removeListener(s, onInterrupt));
  const onInterrupt = (signal: NodeJS.Signals) => {
    log.warn(`${signal}: stopping after the current ${what} (send it again to kill)`);
    controller.abort();
    stopListening();
  };
  signals.forEach((s) => process.on(s, onInterrupt));
  try {
    return await work(controller.signal);
  } finally {
    stopListening();
  }
}
