import { runCli } from '../../src/cli/main';
import { capture, lines, STACK_FRAME } from './helpers';

describe('talking-heads models', () => {
  test('--preset tiny --json reports each network and the per-video W columns', async () => {
    const out = await capture((io) =>
      runCli(
        [
          'models',
          '--preset',
          'tiny',
          '--num-videos',
          '3',
          '--json',
          '--backend',
          'cpu',
          '--log-level',
          'silent',
        ],
        io,
      ),
    );
    expect(out.code).toBe(0);
    const report = JSON.parse(out.stdout);
    expect(report).toMatchObject({ preset: 'tiny', imageSize: 64, numVideos: 3, perVideo: 32 });
    for (const key of ['embedder', 'generator', 'projection', 'discriminator', 'psiLength']) {
      expect(report[key]).toBeGreaterThan(0);
    }
    // P maps the 32-long embedding to every AdaIN parameter.
    expect(report.projection).toBe(report.psiLength * 32);
  });

  test('--preset paper prints counts within 10% of the public port', async () => {
    const out = await capture((io) =>
      runCli(['models', '--preset', 'paper', '--backend', 'wasm', '--log-level', 'silent'], io),
    );
    expect(out.code).toBe(0);
    const deviations = [...out.stdout.matchAll(/public port [\d.]+M: (-?[\d.]+)%/g)].map((m) =>
      Number(m[1]),
    );
    expect(deviations).toHaveLength(3);
    for (const d of deviations) expect(Math.abs(d)).toBeLessThan(10);
    expect(out.stdout).toContain('psi has 13184 AdaIN parameters');
  });

  test('a bad --num-videos is a one-line user error', async () => {
    const out = await capture((io) =>
      runCli(['models', '--num-videos', '0', '--backend', 'cpu'], io),
    );
    expect(out.code).toBe(2);
    expect(lines(out.stderr)).toHaveLength(1);
    expect(out.stderr).toContain('--num-videos must be a positive integer');
    expect(out.stderr).not.toMatch(STACK_FRAME);
  });
});
