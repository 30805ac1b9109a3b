import type { CliIO } from './context';
import { runCli } from './main';

/** `train-meta ARGS` is `talking-heads train-meta ARGS`; the bin/ aliases all go through here. */
export function runAlias(command: string, argv: string[], io?: CliIO): Promise<number> {
  return runCli([command, ...argv], io);
}
