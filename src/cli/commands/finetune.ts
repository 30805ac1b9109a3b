import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../../errors';
import { printable } from '../../oneLine';
import { defineCommand } from '../command';
import { stoppableByCtrlC } from '../interrupt';
import { loadFaceLandmarker } from '../loadLandmarker';
import { parseZoomOut, UsageError, zoomOutOption } from '../options';

export const finetuneCommand = defineCommand({
  command: 'finetune [person]',
  describe:
    'Few-shot fine-tuning (docs/method.md): a person model from K photos or a video of a new ' +
    "person and a meta-learning checkpoint; --feed-forward (--epochs 0) only computes psi'",
  builder: (parser) =>
    parser
      .positional('person', {
        type: 'string',
        describe: 'A folder of photos, one photo, or a video (K frames are sampled from it)',
      })
      .option('shots', {
        alias: 'k',
        type: 'number',
        default: 8,
        describe: 'How many shots (K) to take',
      })
      .option('checkpoint', {
        type: 'string',
        describe:
          'A meta-learning run or checkpoint directory [default: the shipped model, checkpoints/cpu128; with --resume, the one the person model was made from]',
      })
      .option('out', {
        alias: 'o',
        type: 'string',
        describe: 'The person model directory [default: people/<name of the input>]',
      })
      .option('epochs', {
        type: 'number',
        default: 40,
        describe: 'Passes over the shots (the paper: 40); 0 = feed-forward',
      })
      .option('feed-forward', {
        type: 'boolean',
        default: false,
        describe: "No training: psi' = P·ê and w' = w0 + ê (the same as --epochs 0)",
      })
      // One shot a step: twice the updates of batch 2 in the same epochs, at about the same cost
      // an epoch; on the held-out speaker it took L1 below the mean of the shots where batch 2
      // stayed above it (docs/finetuning-and-animation.md).
      .option('batch-size', {
        type: 'number',
        default: 1,
        describe: 'Shots per step',
      })
      .option('zoom-out', zoomOutOption)
      .option('resume', {
        type: 'boolean',
        default: false,
        describe: 'Continue the person model in --out (up to --epochs in all)',
      })
      .option('lr-generator', {
        type: 'number',
        describe: "Adam's learning rate for G and psi' [default: the meta run's E/G rate]",
      })
      .option('lr-discriminator', {
        type: 'number',
        describe: "Adam's learning rate for D and w' [default: the meta run's D rate]",
      })
      .check((args) => {
        for (const [name, min] of [
          ['shots', 1],
          ['epochs', 0],
          ['batch-size', 1],
        ] as const) {
          const value = args[name];
          if (!Number.isInteger(value) || value < min)
            throw new UsageError(`--${name} must be an integer >= ${min}, got ${value}`);
        }
        parseZoomOut(String(args.zoomOut));
        if (!args.person && !args.resume)
          throw new UsageError('give the person: a folder of photos, a photo or a video');
        if (args.resume && !args.out) throw new UsageError('--resume needs --out');
        for (const name of ['lr-generator', 'lr-discriminator'] as const) {
          const value = args[name];
          if (value !== undefined && !(Number.isFinite(value) && value > 0))
            throw new UsageError(`--${name} must be a number > 0, got ${value}`);
          if (value !== undefined && args.resume)
            throw new UsageError(`--${name}: a resumed person model keeps its learning rates`);
        }
        return true;
      }),
  async run(args, ctx) {
    const [{ finetune }, meta, { readPersonInfo }] = await Promise.all([
      import('../../train/finetune'),
      import('../../train/metaCheckpoint'),
      import('../../train/personModel'),
    ]);
    if (args.person && !fs.existsSync(args.person))
      throw new UserError(`${printable(args.person)}: no such file or directory`);
    const out =
      args.out ??
      path.join('people', path.basename(args.person!).replace(/\.[^.]+$/, '') || 'person');
    const checkpointPath =
      args.checkpoint ??
      (args.resume ? readPersonInfo(out).metaCheckpoint.path : meta.defaultMetaCheckpoint());
    const checkpoint = await meta.openMetaCheckpoint(checkpointPath);
    await ctx.initBackend();
    const epochs = args.feedForward ? 0 : args.epochs;
    const summary = await stoppableByCtrlC(ctx.log, 'step', (signal) =>
      finetune({
        meta: checkpoint,
        out,
        input: args.person,
        shots: args.shots,
        epochs,
        batchSize: args.batchSize,
        zoomOut: parseZoomOut(args.zoomOut),
        learningRates: { generator: args.lrGenerator, discriminator: args.lrDiscriminator },
        resume: args.resume,
        seed: ctx.seed ?? 0,
        log: ctx.log,
        loadLandmarker: loadFaceLandmarker,
        progress: (total, start) => ctx.progress(total, 'steps', start),
        signal,
      }),
    );
    const timing =
      summary.secondsPerEpoch === undefined
        ? ''
        : `; ${summary.steps} steps in ${summary.trainSeconds.toFixed(1)} s ` +
          `(${summary.secondsPerEpoch.toFixed(2)} s per epoch)`;
    const losses = summary.lastLosses
      ? `; last losses: ${Object.entries(summary.lastLosses)
          .map(([k, v]) => `${k} ${v.toFixed(4)}`)
          .join(', ')}`
      : '';
    ctx.stdout.write(
      `${summary.interrupted ? 'interrupted' : 'finished'}: ${summary.shots.length} shots, ` +
        `${epochs === 0 ? 'feed-forward' : `epoch ${summary.epochs} of ${epochs}`}${timing}${losses}\n` +
        `meta checkpoint: ${checkpoint.dir} (${checkpoint.id})\n` +
        `person model: ${out} (tensorboard --logdir ${out})\n`,
    );
    if (summary.interrupted) ctx.setExitCode(130);
  },
});
