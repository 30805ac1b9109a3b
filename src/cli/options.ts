import type { ArgumentsCamelCase, Argv } from 'yargs';
import { BACKEND_CHOICES, BACKEND_ENV_VAR } from '../backend/choices';
import { LOG_LEVELS } from '../log';
import { REFERENCE_OPS_ENV_VAR } from '../ops/opsMode';

/** A yargs validation failure (unknown command or option, bad value); the CLI exits with 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Adds the options every command accepts. */
export function globalOptions(parser: Argv) {
  return parser
    .option('backend', {
      choices: BACKEND_CHOICES,
      // No yargs default: undefined lets initBackend fall back to the environment variable.
      describe: `tfjs backend [default: $${BACKEND_ENV_VAR}, else auto]`,
    })
    .option('log-level', {
      choices: [...LOG_LEVELS, 'silent'] as const,
      default: 'info' as const,
      describe: 'Log verbosity (logs go to stderr)',
    })
    .option('seed', { type: 'number', describe: 'Random seed' })
    .option('wasm-threads', {
      type: 'number',
      default: 0,
      describe: 'wasm backend: XNNPACK worker threads (experimental; 0 = off)',
    })
    .option('threads', {
      type: 'number',
      default: 0,
      describe: 'native backend: onnxruntime threads per kernel (0 = one per physical core)',
    })
    .option('reference-ops', {
      type: 'boolean',
      default: false,
      describe: `Run the plain tfjs versions of the fused ops (src/ops) [also $${REFERENCE_OPS_ENV_VAR}=1]`,
    })
    .group(
      [
        'backend',
        'log-level',
        'seed',
        'threads',
        'wasm-threads',
        'reference-ops',
        'help',
        'version',
      ],
      'Global options:',
    )
    .check((args) => {
      if (args.seed !== undefined && !Number.isInteger(args.seed)) {
        throw new UsageError('--seed must be an integer');
      }
      if (!Number.isInteger(args.threads) || args.threads < 0) {
        throw new UsageError('--threads must be a non-negative integer');
      }
      if (!Number.isInteger(args['wasm-threads']) || args['wasm-threads'] < 0) {
        throw new UsageError('--wasm-threads must be a non-negative integer');
      }
      return true;
    });
}

export type GlobalOptions = ReturnType<typeof globalOptions> extends Argv<infer T> ? T : never;
/** The parsed global options as handlers see them (camelCase keys). */
export type GlobalArgs = ArgumentsCamelCase<GlobalOptions>;

/**
 * `finetune`'s and `evaluate`'s `--zoom-out`: the scales of the shots' zoomed-out copies
 * (src/train/zoomedShots.ts), comma-separated in (0, 1), or `none`.
 */
export const zoomOutOption = {
  type: 'string',
  default: '0.75',
  describe:
    "Also fine-tune on copies of the shots zoomed out to these scales (comma-separated, or 'none')",
} as const;

/** `--zoom-out`'s scales; a UsageError for anything else. */
export function parseZoomOut(text: string): number[] {
  if (text.trim() === 'none') return [];
  const scales = text.split(',').map((s) => Number(s.trim()));
  if (scales.some((s) => !(s > 0 && s < 1)))
    throw new UsageError(`--zoom-out takes scales between 0 and 1, or none; got ${text}`);
  return scales;
}
