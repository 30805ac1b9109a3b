import pino, { type Logger, type Level } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };
export const LOG_LEVELS: readonly Level[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];

export interface LoggerOptions {
  level?: Level | 'silent';
  /** Human-readable output; defaults to whether stderr is a TTY. */
  pretty?: boolean;
  /** Where lines go; defaults to stderr so stdout stays free for command output. */
  destination?: NodeJS.WritableStream;
}

/** Pretty lines on a terminal, JSON lines otherwise (CI logs, files, pipes). */
export function createLogger(options: LoggerOptions = {}): Logger {
  const destination = options.destination ?? process.stderr;
  const level = options.level ?? 'info';
  const usePretty = options.pretty ?? Boolean((destination as NodeJS.WriteStream).isTTY);
  if (usePretty) {
    const stream = pretty({
      destination,
      sync: true,
      colorize: Boolean((destination as NodeJS.WriteStream).isTTY),
      ignore: 'pid,hostname',
      translateTime: 'HH:MM:ss',
    });
    return pino({ level }, stream);
  }
  return pino({ level }, destination);
}

/** A logger that drops everything; for library callers and tests that don't pass one. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
