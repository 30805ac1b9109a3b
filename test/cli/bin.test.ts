import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { lines } from './helpers';

const ROOT = join(__dirname, '..', '..');

/** Runs a bin script the way a user's shell would, on the compiled dist/. */
function bin(script: string, ...args: string[]) {
  const result = spawnSync(process.execPath, [join(ROOT, 'bin', script), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('bin/talking-heads.js', () => {
  beforeAll(() => {
    // The bin scripts load dist/; build it once so the test never runs stale output.
    const tsc = require.resolve('typescript/bin/tsc');
    const build = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    if (build.status !== 0) throw new Error(`tsc -p tsconfig.build.json failed:\n${build.stdout}`);
  }, 300_000);

  it('--help exits 0 and lists the commands', () => {
    const result = bin('talking-heads.js', '--help');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Commands:\n {2}talking-heads backends /m);
    expect(result.stderr).toBe('');
  });

  it('a bad --backend exits 2 with exactly one line on stderr', () => {
    const result = bin('talking-heads.js', '--backend', 'nope', 'backends');
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(lines(result.stderr)).toHaveLength(1);
    expect(result.stderr).toMatch(/^talking-heads: Invalid values: .*"nope"/);
  });

  it('stops quietly when the reader of stdout goes away', async () => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'talking-heads.js'), '--help'], {
      cwd: ROOT,
    });
    child.stdout.destroy(); // like `talking-heads --help | true`: the write gets EPIPE
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });
});
