import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../../errors';
import { printable } from '../../oneLine';
import { defineCommand } from '../command';
import { UsageError } from '../options';
import { stoppableByCtrlC } from '../interrupt';

export const trainMetaCommand = defineCommand({
  command: 'train-meta',
  describe:
    'Meta-learn E, G and D on a store of talking-head episodes (docs/method.md): ' +
    'TensorBoard logs, atomic checkpoints, exact --resume; Ctrl-C saves and stops',
  builder: (parser) =>
    parser
      .option('config', {
        type: 'string',
        describe:
          'A YAML config, or the name of one in configs/ (voxceleb2, tiny) [default with --resume: OUT/config.yaml]',
      })
      .option('data', {
        type: 'string',
        describe: "The store to train on [default: the config's data.store]",
      })
      .option('out', {
        type: 'string',
        describe: 'The run directory [default: runs/<config name>]',
      })
      .option('resume', {
        type: 'boolean',
        default: false,
        describe: 'Continue the run in --out from its latest checkpoint',
      })
      .option('minutes', {
        type: 'number',
        describe:
          'Train for this many minutes, then save a checkpoint and stop (train.steps still caps the run)',
      })
      .option('set', {
        type: 'string',
        array: true,
        default: [] as string[],
        describe: 'Override a config key, e.g. --set train.batchSize=4 (repeatable)',
      })
      .check((args) => {
        if (args.minutes !== undefined && !(args.minutes > 0))
          throw new UsageError('--minutes must be a positive number');
        return true;
      }),
  async run(args, ctx) {
    const [{ loadTrainConfig, resolvedConfigYaml }, { trainMeta }] = await Promise.all([
      import('../../train/loadConfig'),
      import('../../train/trainMeta'),
    ]);
    if (!args.config && !(args.resume && args.out))
      throw new UserError('give --config (or --resume with --out to continue a run)');
    const configName = args.config ?? path.join(args.out!, 'config.yaml');
    const config = loadTrainConfig(configName, args.set);
    const out = args.out ?? path.join('runs', path.basename(configName).replace(/\.ya?ml$/, ''));
    const store = args.data ?? config.data.store;
    if (!store)
      throw new UserError(`${printable(configName)}: no store: give --data or set data.store`);
    if (!fs.existsSync(store))
      throw new UserError(
        `${printable(store)}: no such store (make one with \`talking-heads preprocess\` or \`synth\`)`,
      );
    await ctx.initBackend();
    const summary = await stoppableByCtrlC(ctx.log, 'step', (signal) =>
      trainMeta({
        config,
        configYaml: resolvedConfigYaml(config),
        store,
        runDir: out,
        resume: args.resume,
        log: ctx.log,
        progress: (total, start, unit) => ctx.progress(total, unit, start),
        maxSeconds: args.minutes === undefined ? undefined : args.minutes * 60,
        signal,
      }),
    );
    const losses = summary.lastLosses
      ? Object.entries(summary.lastLosses)
          .map(([k, v]) => `${k} ${v.toFixed(4)}`)
          .join(', ')
      : 'none';
    ctx.stdout.write(
      `${summary.interrupted ? 'interrupted' : summary.outOfTime ? `stopped after ${args.minutes} min` : 'finished'} at step ${summary.step} ` +
        `(${summary.step - summary.startStep} steps in ${summary.seconds.toFixed(1)} s); ` +
        `last losses: ${losses}` +
        (summary.lastHeldoutL1 === undefined
          ? ''
          : `; held-out L1 ${summary.lastHeldoutL1.toFixed(4)}`) +
        `\nrun: ${out} (tensorboard --logdir ${out})\n`,
    );
    if (summary.interrupted) ctx.setExitCode(130);
  },
});
