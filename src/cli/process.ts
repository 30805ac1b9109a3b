import { relaunchWithMallocTunables, shouldRelaunch } from './mallocRelaunch';

/**
 * Runs a CLI entry point as this process: sets the exit status from `run` and treats a closed
 * stdout (`talking-heads backends | head -1`) as a normal end rather than a crash. With
 * `relaunch`, on glibc the command runs in a child started with malloc tunables instead
 * (mallocRelaunch.ts), and this process only waits for it.
 */
export function runAsProcess(run: () => Promise<number>, relaunch = false): void {
  if (relaunch && shouldRelaunch(process.env)) {
    void relaunchWithMallocTunables().then((code) => {
      process.exitCode = code;
    });
    return;
  }
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    // The reader is gone; nothing more can be said, so stop without a stack trace.
    process.exit(process.exitCode ?? 0);
  });
  run().then(
    (code) => {
      process.exitCode = code;
    },
    // runCli catches everything; this guards against a bug in that very path.
    (err: unknown) => {
      process.stderr.write(`talking-heads: internal error: ${String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
