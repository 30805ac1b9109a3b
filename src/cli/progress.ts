import { SingleBar } from 'cli-progress';
import type { Progress } from '../progress';

/**
 * A bar on stderr. On a terminal it redraws in place; when stderr is a file or a pipe (batch
 * schedulers, CI) it prints a plain line every `logEverySeconds`, so a job log still shows
 * progress and ETA without a screenful of redraws.
 */
export function createProgress(
  total: number,
  unit: string,
  stream: NodeJS.WritableStream,
  logEverySeconds = 30,
  /** Items already done (a resumed run): the bar and its ETA start from here. */
  start = 0,
): Progress {
  const tty = Boolean((stream as NodeJS.WriteStream).isTTY);
  const bar = new SingleBar({
    stream: stream as NodeJS.WriteStream,
    format: `{bar} {percentage}% | {value}/{total} ${unit} | {duration_formatted} elapsed, ETA {eta_formatted} | {label}`,
    barsize: 30,
    hideCursor: tty,
    noTTYOutput: !tty,
    notTTYSchedule: logEverySeconds * 1000,
    etaBuffer: 50,
    // Keep the last line: the summary that follows refers to it.
    clearOnComplete: false,
  });
  bar.start(total, start, { label: '' });
  return {
    increment: (label = '') => bar.increment(1, { label }),
    update: (value, label = '') => bar.update(value, { label }),
    stop: () => bar.stop(),
  };
}
