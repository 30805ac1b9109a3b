import { UserError } from '../../src/errors';
import { quote } from '../../src/oneLine';
import type { SuiteMode } from './results';

export const BENCH_BACKENDS = ['tensorflow-gpu', 'tensorflow', 'native', 'wasm', 'cpu'] as const;

export interface SuiteOptions {
  mode: SuiteMode;
  /** Where the results files go. */
  outDir: string;
  /** Backends asked for; undefined: every available one. */
  backends?: string[];
}

export const USAGE = `usage: npm run bench [-- --quick | --smoke] [--out DIR] [--backends NAME,NAME..]
  --quick           fewer runs and smaller inputs; heavy cases skipped with reasons (under 5 minutes)
  --smoke           the least work that runs every code path (the suite's test)
  --out DIR         results directory (default bench/results)
  --backends LIST   comma-separated, of ${BENCH_BACKENDS.join(', ')} (default: every available one)`;

/** The suite's command line; a bad option is a UserError of one line. */
export function parseSuiteOptions(argv: readonly string[]): SuiteOptions | 'help' {
  const options: SuiteOptions = { mode: 'full', outDir: 'bench/results' };
  const modes = new Set<SuiteMode>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? arg.split(/=(.*)/s) : [arg];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v == null || v === '' || (inline == null && v.startsWith('--')))
        throw new UserError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--help':
      case '-h':
        return 'help';
      case '--quick':
      case '--smoke':
        if (inline != null) throw new UserError(`${flag} takes no value`);
        modes.add(flag.slice(2) as SuiteMode);
        break;
      case '--out':
        options.outDir = value();
        break;
      case '--backends': {
        const names = value()
          .split(',')
          .map((n) => n.trim().toLowerCase());
        const unknown = names.find((n) => !(BENCH_BACKENDS as readonly string[]).includes(n));
        if (unknown != null)
          throw new UserError(
            `--backends: unknown backend ${quote(unknown)}; choose from ${BENCH_BACKENDS.join(', ')}`,
          );
        options.backends = [...new Set(names)];
        break;
      }
      default:
        throw new UserError(`unknown option ${quote(arg)}; see --help`);
    }
  }
  if (modes.size > 1) throw new UserError('--quick and --smoke exclude each other');
  options.mode = [...modes][0] ?? 'full';
  return options;
}
