import { runAlias } from '../../src/cli/alias';
import { runCli } from '../../src/cli/main';
import { capture, lines } from './helpers';

describe('runAlias', () => {
  it('runs the named subcommand with the rest of the arguments', async () => {
    const argv = ['--json', '--backend', 'cpu'];
    const viaAlias = await capture((io) => runAlias('backends', argv, io));
    const direct = await capture((io) => runCli(['backends', ...argv], io));
    expect(viaAlias.code).toBe(0);
    expect(JSON.parse(viaAlias.stdout)).toEqual(JSON.parse(direct.stdout));
  });

  it("--help shows the subcommand's help", async () => {
    const result = await capture((io) => runAlias('backends', ['--help'], io));
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^talking-heads backends\n/);
    expect(result.stdout).toContain('--json');
  });

  it('an alias for a command that does not exist is a one-line usage error', async () => {
    const result = await capture((io) => runAlias('no-such-command', ['--backend', 'cpu'], io));
    expect(result.code).toBe(2);
    expect(lines(result.stderr)).toEqual(['talking-heads: Unknown command: no-such-command']);
  });
});
