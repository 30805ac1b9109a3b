import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../src/cli/main';
import { BACKEND_ENV_VAR } from '../../src/backend/select';
import { capture, lines, STACK_FRAME } from './helpers';

const cli = (...argv: string[]) => capture((io) => runCli(argv, io));

/** A user error: status 2, nothing on stdout, one `talking-heads: ` line on stderr. */
function expectUsageError(result: { code: number; stdout: string; stderr: string }): string {
  expect(result.code).toBe(2);
  expect(result.stdout).toBe('');
  expect(lines(result.stderr)).toHaveLength(1);
  expect(result.stderr).toMatch(/^talking-heads: \S/);
  expect(result.stderr).not.toMatch(STACK_FRAME);
  return result.stderr;
}

describe('runCli', () => {
  it('--help lists the commands and the global options', async () => {
    const result = await cli('--help');
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^Commands:\n {2}talking-heads backends /m);
    for (const option of ['--backend', '--log-level', '--seed', '--threads', '--wasm-threads']) {
      expect(result.stdout).toContain(option);
    }
  });

  it('--version prints the package version', async () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8'));
    const result = await cli('--version');
    expect(result).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
  });

  it('a command --help shows that command', async () => {
    const result = await cli('backends', '--help');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^talking-heads backends\n/);
    expect(result.stdout).toContain('--json');
  });

  it('rejects a missing command', async () => {
    expect(expectUsageError(await cli())).toContain('missing command');
  });

  it('rejects an unknown command in one line and suggests a near one', async () => {
    expect(expectUsageError(await cli('frobnicate'))).toContain('Unknown command: frobnicate');
    expect(expectUsageError(await cli('backendz'))).toContain('Did you mean backends?');
  });

  it('rejects an unknown option', async () => {
    expect(expectUsageError(await cli('backends', '--nope'))).toContain('Unknown argument: nope');
  });

  it('rejects a bad --backend choice in one line', async () => {
    const message = expectUsageError(await cli('--backend', 'nope', 'backends'));
    expect(message).toContain('"nope"');
    expect(message).toContain('"wasm"');
  });

  it('rejects a non-integer --seed and negative --threads and --wasm-threads', async () => {
    expect(expectUsageError(await cli('backends', '--seed', 'x'))).toContain('--seed');
    expect(expectUsageError(await cli('backends', '--threads', '-1'))).toContain(
      '--threads must be a non-negative integer',
    );
    expect(expectUsageError(await cli('backends', '--threads', '1.5'))).toContain('--threads');
    expect(expectUsageError(await cli('backends', '--wasm-threads', '-1'))).toContain(
      '--wasm-threads',
    );
  });

  it('reports a UserError from a command as one line with status 2', async () => {
    const saved = process.env[BACKEND_ENV_VAR];
    process.env[BACKEND_ENV_VAR] = 'bogus';
    try {
      const message = expectUsageError(await cli('backends'));
      expect(message).toContain(`$${BACKEND_ENV_VAR}: unknown backend 'bogus'`);
    } finally {
      if (saved === undefined) delete process.env[BACKEND_ENV_VAR];
      else process.env[BACKEND_ENV_VAR] = saved;
    }
  });
});
