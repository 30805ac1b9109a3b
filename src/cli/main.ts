import yargs from 'yargs';
import { isUserError } from '../errors';
import { packageVersion } from '../packageVersion';
import { COMMANDS } from './commands';
import { createContext, type CliIO, type CommandContext } from './context';
import { globalOptions, UsageError, type GlobalArgs } from './options';

const NAME = 'talking-heads';

/** yargs messages can span lines ("Invalid values:\n  Argument: ..."); errors print as one. */
function oneLine(message: string): string {
  return message.replace(/\s*\n\s*/g, ' ').trim();
}

function buildParser(
  argv: string[],
  columns: number | undefined,
  makeContext: (args: GlobalArgs) => CommandContext,
) {
  let parser = globalOptions(yargs(argv).scriptName(NAME).locale('en'));
  for (const command of COMMANDS) parser = command.register(parser, makeContext);
  // recommendCommands reports its "Did you mean" through fail() before the strict check fails;
  // hold it and append it to the unknown-command message rather than stopping there.
  let suggestion = '';
  return (
    parser
      .demandCommand(1, 'missing command')
      .strict()
      .strictCommands()
      .recommendCommands()
      .help()
      .version(packageVersion())
      // Help fits the terminal, capped for readability; 100 columns when piped.
      .wrap(Math.min(100, columns ?? 100))
      .exitProcess(false)
      .fail((message, err) => {
        if (err && !(err instanceof UsageError) && err.name !== 'YError') throw err;
        const text = oneLine(message || err?.message || 'invalid arguments');
        if (text.startsWith('Did you mean ')) {
          suggestion = text;
          return;
        }
        throw new UsageError(suggestion ? `${text}. ${suggestion}` : text);
      })
  );
}

/**
 * Runs the CLI on `argv` (without node and script) and resolves to the exit status:
 * 0 success, 1 internal error, 2 user error. Never exits the process, so tests run it in-process.
 */
export async function runCli(
  argv: string[],
  io: CliIO = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  let logLevel = 'info';
  let exitCode = 0;
  let context: CommandContext | undefined;
  try {
    const columns = (io.stdout as NodeJS.WriteStream).columns;
    const parser = buildParser(argv, columns, (args) => {
      logLevel = args.logLevel;
      return (context = createContext(args, io, (code) => (exitCode = code)));
    });
    // With a parse callback yargs hands back --help/--version text instead of printing it.
    let output = '';
    await parser.parseAsync(argv, {}, (_err, _args, text) => {
      output = text;
    });
    if (output) io.stdout.write(output + '\n');
    return exitCode;
  } catch (err) {
    if (err instanceof UsageError || isUserError(err)) {
      io.stderr.write(`${NAME}: ${oneLine(err.message)}\n`);
      return 2;
    }
    const message = err instanceof Error ? err.message : String(err);
    io.stderr.write(`${NAME}: internal error: ${message}\n`);
    if ((logLevel === 'debug' || logLevel === 'trace') && err instanceof Error && err.stack) {
      io.stderr.write(err.stack + '\n');
    }
    return 1;
  } finally {
    context?.close();
  }
}
