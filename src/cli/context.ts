import type { BackendSelection } from '../backend/select';
import type { Workload } from '../backend/workload';
import { createLogger, type Logger } from '../log';
import { referenceOps, referenceOpsFromEnv, setReferenceOps } from '../ops/opsMode';
import type { Progress } from '../progress';
import type { GlobalArgs } from './options';
import { createProgress } from './progress';

/** What a command handler gets besides its parsed arguments. */
export interface CommandContext {
  log: Logger;
  /** Where command output goes; logs go to stderr. */
  stdout: NodeJS.WritableStream;
  /** Where logs and progress bars go. */
  stderr: NodeJS.WritableStream;
  /** The exit status when the command returns normally (e.g. 130 after a Ctrl-C stop). */
  setExitCode(code: number): void;
  seed: number | undefined;
  /**
   * Starts the backend chosen by --backend on first call (with auto, the one `workload` runs
   * faster on; training when not given); commands without tensors never pay for it.
   */
  initBackend(workload?: Workload): Promise<BackendSelection>;
  /**
   * A progress bar on stderr (createProgress). The context owns it: whatever bars a command
   * leaves running when it ends, by an error or otherwise, `close` stops, so no redraw timer
   * outlives the command.
   */
  progress(total: number, unit: string, start?: number): Progress;
  /** Ends the command's resources: stops the progress bars still running. */
  close(): void;
}

export interface CliIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export function createContext(
  args: GlobalArgs,
  io: CliIO,
  setExitCode: (code: number) => void = () => undefined,
): CommandContext {
  const log = createLogger({ level: args.logLevel, destination: io.stderr });
  // Read here so that a bad value of the variable fails before any work.
  setReferenceOps(args.referenceOps || referenceOpsFromEnv(process.env));
  let selection: Promise<BackendSelection> | undefined;
  const running = new Set<Progress>();
  return {
    log,
    stdout: io.stdout,
    stderr: io.stderr,
    setExitCode,
    seed: args.seed,
    // Loaded on demand: loading tfjs is slow, and `--help` should not pay for it.
    initBackend: (workload) =>
      (selection ??= import('../backend/select').then(({ initBackend }) =>
        initBackend({
          backend: args.backend,
          workload,
          wasmThreads: args.wasmThreads,
          threads: args.threads,
          log,
        }).then((chosen) => {
          if (referenceOps()) log.info('reference ops: the plain tfjs versions of src/ops');
          return chosen;
        }),
      )),
    progress: (total, unit, start = 0) => {
      const bar = createProgress(total, unit, io.stderr, 30, start);
      running.add(bar);
      return {
        increment: (label) => bar.increment(label),
        update: (value, label) => bar.update(value, label),
        stop: () => {
          running.delete(bar);
          bar.stop();
        },
      };
    },
    close: () => {
      for (const bar of running) bar.stop();
      running.clear();
    },
  };
}
