import * as path from 'node:path';
import { DEMO_DEFAULT_MINUTES } from '../../demo/demoMinutes';
import { defineCommand } from '../command';
import { UsageError } from '../options';
import type { GlobalArgs } from '../options';

/** The CLI's entry script, from src/cli/commands or dist/cli/commands. */
const CLI_SCRIPT = path.resolve(__dirname, '..', '..', '..', 'bin', 'talking-heads.js');

/** The global options a stage runs with: the demo's own, passed on. */
function globalArgv(args: GlobalArgs): string[] {
  return [
    ...(args.backend ? ['--backend', args.backend] : []),
    '--log-level',
    args.logLevel,
    ...(args.seed === undefined ? [] : ['--seed', String(args.seed)]),
    ...(args.threads ? ['--threads', String(args.threads)] : []),
    ...(args.wasmThreads ? ['--wasm-threads', String(args.wasmThreads)] : []),
  ];
}

export const demoCommand = defineCommand({
  command: 'demo',
  describe:
    'The method on the real footage bundled with the dependencies, offline: from the shipped ' +
    'meta-learned model, the held-out webcam speaker fine-tuned on 8 frames of one recording and ' +
    'the Mona Lisa on her photo, both driven by his other recording, ONNX export and check, ' +
    'evaluation across recordings against three baselines (--from-scratch meta-learns first)',
  builder: (parser) =>
    parser
      .option('out', {
        alias: 'o',
        type: 'string',
        default: 'demo',
        describe: 'Where everything goes (must be empty unless --resume)',
      })
      .option('from-scratch', {
        type: 'boolean',
        default: false,
        describe:
          'Build the corpus and meta-learn (configs/tiny.yaml at 4x widths, 64 px, --minutes) instead of starting from the shipped model',
      })
      .option('minutes', {
        type: 'number',
        describe: `With --from-scratch: meta-learning minutes [default: ${DEMO_DEFAULT_MINUTES}]; the other stages take about 5 more on two cores`,
      })
      .option('resume', {
        type: 'boolean',
        default: false,
        describe: 'Continue a stopped demo in --out, skipping the stages it finished',
      })
      .check((args) => {
        if (args.minutes !== undefined && !(args.minutes > 0))
          throw new UsageError('--minutes must be a positive number');
        if (args.minutes !== undefined && !args.fromScratch)
          throw new UsageError('--minutes sets meta-learning time: give it with --from-scratch');
        return true;
      }),
  async run(args, ctx) {
    const [{ runCli }, { runChild }, { runDemo }, { DEMO_SETTINGS }] = await Promise.all([
      import('../main'),
      import('../childProcess'),
      import('../../demo/runDemo'),
      import('../../demo/demoStages'),
    ]);
    const status = await runDemo({
      out: args.out,
      minutes: args.minutes ?? DEMO_DEFAULT_MINUTES,
      resume: args.resume,
      settings: { ...DEMO_SETTINGS, fromScratch: args.fromScratch },
      cli: (argv) => {
        const stageArgs = [...globalArgv(args), ...argv];
        // Each stage as its own process, as a user would run it: inside the process that
        // meta-learned, animate and evaluate run markedly slower than the same commands on their
        // own (README, The demo). Captured output (tests) keeps stages in this process.
        return ctx.stdout === process.stdout && ctx.stderr === process.stderr
          ? runChild([CLI_SCRIPT, ...stageArgs])
          : runCli(stageArgs, { stdout: ctx.stdout, stderr: ctx.stderr });
      },
      ctx,
    });
    if (status !== 0) ctx.setExitCode(status);
  },
});
