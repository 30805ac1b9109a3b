import { spawn } from 'node:child_process';
import { constants } from 'node:os';

/**
 * Runs `node args...` in a child that shares this terminal (stdio inherited) and resolves with
 * its exit status. Ctrl-C reaches the child from the terminal itself (one process group), so while
 * it runs this process ignores SIGINT and passes SIGTERM and SIGHUP on: the child's own handlers
 * stop a run at a clean point, and this process learns how it ended.
 */
export function runChild(
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const child = spawn(process.execPath, args, { stdio: 'inherit', env });
  const ignore = () => undefined;
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGINT', ignore);
  process.on('SIGTERM', forward);
  process.on('SIGHUP', forward);
  const stopListening = () => {
    process.removeListener('SIGINT', ignore);
    process.removeListener('SIGTERM', forward);
    process.removeListener('SIGHUP', forward);
  };
  return new Promise((resolve) => {
    child.on('error', (err) => {
      stopListening();
      process.stderr.write(`talking-heads: could not start ${process.execPath}: ${err.message}\n`);
      resolve(1);
    });
    child.on('exit', (code, signal) => {
      stopListening();
      resolve(code ?? 128 + (signal ? constants.signals[signal] : 0));
    });
  });
}
