import { relaunchWithMallocTunables, shouldRelaunch } from './mallocRelaunch';

/**
 * Runs a CLI entry point as this process: exits with the status `run` resolves to, and treats a
 * closed stdout (`talking-heads backends | head -1`) as a normal end rather than a crash. With
 * `relaunch`, on glibc the command runs in a child started with malloc tunables instead
 * (mallocRelaunch.ts), and this process only waits for it.
 *
 * The process ends as soon as the command has, once its output is flushed: a command that failed
 * half-way may leave a timer, a child's pipe or a pending read behind, and none of them may keep
 * a finished (or failed) command's process alive.
 */
export function runAsProcess(run: () => Promise<number>, relaunch = false): void {
  if (relaunch && shouldRelaunch(process.env)) {
    void relaunchWithMallocTunables().then(exitWhenFlushed);
    return;
  }
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    // The reader is gone; nothing more can be said, so stop without a stack trace.
    process.exit(process.exitCode ?? 0);
  });
  run().then(
    exitWhenFlushed,
    // runCli catches everything; this guards against a bug in that very path.
    (err: unknown) => {
      process.stderr.write(`talking-heads: internal error: ${String(err)}\n`);
      exitWhenFlushed(1);
    },
  );
}

/** Exits with `code` once what was written to stdout and stderr has gone out. */
function exitWhenFlushed(code: number): void {
  process.exitCode = code;
  let open = 2;
  const flushed = () => {
    if (--open === 0) process.exit(code);
  };
  // A write's callback runs once everything written before it is out (or the stream failed).
  process.stdout.write('', flushed);
  process.stderr.write('', flushed);
}
