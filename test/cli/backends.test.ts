import { runCli } from '../../src/cli/main';
import { formatReport, type BackendsReport } from '../../src/cli/commands/backends';
import { capture } from './helpers';

const cli = (...argv: string[]) => capture((io) => runCli(argv, io));

function installed(pkg: string): boolean {
  try {
    require.resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

describe('talking-heads backends', () => {
  it('--json lists every backend; native, wasm and cpu are available', async () => {
    const result = await cli('backends', '--json', '--backend', 'cpu');
    expect(result.code).toBe(0);
    const report: BackendsReport = JSON.parse(result.stdout);
    expect(report.backends.map((b) => b.name)).toEqual([
      'tensorflow-gpu',
      'tensorflow',
      'native',
      'wasm',
      'cpu',
    ]);
    const byName = Object.fromEntries(report.backends.map((b) => [b.name, b]));
    expect(byName.native).toEqual({ name: 'native', available: true });
    expect(byName.wasm).toEqual({ name: 'wasm', available: true });
    expect(byName.cpu).toEqual({ name: 'cpu', available: true });
    expect(report.requested).toBe('cpu');
  });

  it('says why a missing tfjs-node package is unavailable, and auto falls back to native', async () => {
    const report: BackendsReport = JSON.parse((await cli('backends', '--json')).stdout);
    const byName = Object.fromEntries(report.backends.map((b) => [b.name, b]));
    if (!installed('@tensorflow/tfjs-node')) {
      expect(byName.tensorflow!.available).toBe(false);
      expect(byName.tensorflow!.why).toContain('@tensorflow/tfjs-node');
    }
    if (!installed('@tensorflow/tfjs-node-gpu')) {
      expect(byName['tensorflow-gpu']!.available).toBe(false);
      expect(byName['tensorflow-gpu']!.why).toContain('@tensorflow/tfjs-node-gpu');
    }
    if (!installed('@tensorflow/tfjs-node') && !installed('@tensorflow/tfjs-node-gpu')) {
      expect(report.auto).toBe('native');
      // Large convs on native; face-api and tiny's generator (many small ops) on wasm.
      expect(Object.fromEntries(report.autoByWorkload.map((w) => [w.workload, w.backend]))).toEqual(
        {
          training: 'native',
          faces: 'wasm',
          'generation, 64 px x 8': 'wasm',
          'generation, 64 px x 32': 'native',
          'generation, 128 px x 32': 'native',
          'generation, 256 px x 64': 'native',
        },
      );
    }
    expect(report.requested).toBe('auto');
  });

  it('prints a table by default', async () => {
    const result = await cli('backends');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^BACKEND +AVAILABLE +NOTE\n/);
    expect(result.stdout).toMatch(/^native +yes$/m);
    expect(result.stdout).toMatch(/^wasm +yes$/m);
    expect(result.stdout).toMatch(/^cpu +yes$/m);
    expect(result.stdout).toMatch(/^auto picks: \S+$/m);
  });
});

describe('formatReport', () => {
  it('aligns the columns and says whether the requested backend can run', () => {
    const report: BackendsReport = {
      backends: [
        { name: 'tensorflow-gpu', available: false, why: 'no GPU' },
        { name: 'tensorflow', available: false, why: 'not installed' },
        { name: 'wasm', available: true },
        { name: 'cpu', available: true },
      ],
      auto: 'wasm',
      autoByWorkload: [],
      requested: 'tensorflow',
    };
    expect(formatReport(report)).toBe(
      [
        'BACKEND         AVAILABLE  NOTE',
        'tensorflow-gpu  no         no GPU',
        'tensorflow      no         not installed',
        'wasm            yes',
        'cpu             yes',
        'auto picks: wasm',
        'requested: tensorflow (not available)',
        '',
      ].join('\n'),
    );
  });

  it('says when auto has nothing to pick', () => {
    const report: BackendsReport = {
      backends: [],
      auto: null,
      autoByWorkload: [],
      requested: 'auto',
    };
    expect(formatReport(report)).toContain('auto picks: none\n');
  });

  it("lists auto's pick for each workload with its reason", () => {
    const report: BackendsReport = {
      backends: [{ name: 'wasm', available: true }],
      auto: 'wasm',
      autoByWorkload: [
        { workload: 'training', backend: 'wasm', reason: 'native is not available' },
        { workload: 'faces', backend: null, reason: 'nothing' },
      ],
      requested: 'auto',
    };
    expect(formatReport(report)).toMatch(
      /\n {2}training {2}wasm {4}native is not available\n {2}faces {5}none {4}nothing\n$/,
    );
  });
});
