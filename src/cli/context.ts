import type { BackendSelection } from '../backend/select';
import { createLogger, type Logger } from '../log';
import type { GlobalArgs } from './options';

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
  /** Starts the backend chosen by --backend on first call; commands without tensors never pay for it. */
  initBackend(): Promise<BackendSelection>;
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
  let selection: Promise<BackendSelection> | undefined;
  return {
    log,
    stdout: io.stdout,
    stderr: io.stderr,
    setExitCode,
    seed: args.seed,
    // Loaded on demand: tfjs takes ~0.4 s to load, which `--help` should not pay.
    initBackend: () =>
      (selection ??= import('../backend/select').then(({ initBackend }) =>
        initBackend({
          backend: args.backend,
          wasmThreads: args.wasmThreads,
          threads: args.threads,
          log,
        }),
      )),
  };
}
