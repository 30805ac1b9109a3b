import type { ArgumentsCamelCase, Argv } from 'yargs';
import type { CommandContext } from './context';
import type { GlobalArgs, GlobalOptions } from './options';

/** One subcommand: its yargs definition plus a handler that also receives the command context. */
export interface CommandSpec<A extends GlobalOptions> {
  /** yargs command string: the name, then any positionals ('preprocess <dir>'). */
  command: string;
  describe: string;
  builder: (parser: Argv<GlobalOptions>) => Argv<A>;
  run(args: ArgumentsCamelCase<A>, ctx: CommandContext): Promise<void>;
}

/** A command with its argument type erased, so commands of different shapes share one list. */
export interface CliCommand {
  register(
    parser: Argv<GlobalOptions>,
    makeContext: (args: GlobalArgs) => CommandContext,
  ): Argv<GlobalOptions>;
}

export function defineCommand<A extends GlobalOptions>(spec: CommandSpec<A>): CliCommand {
  return {
    register: (parser, makeContext) =>
      parser.command(spec.command, spec.describe, spec.builder, (args) =>
        spec.run(args, makeContext(args)),
      ),
  };
}
