/**
 * Runs a CLI entry point as this process: sets the exit status from `run` and treats a closed
 * stdout (`talking-heads backends | head -1`) as a normal end rather than a crash.
 */
export function runAsProcess(run: () => Promise<number>): void {
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
