import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../../errors';
import { printable } from '../../oneLine';
import { defineCommand } from '../command';
import { stoppableByCtrlC } from '../interrupt';
import { loadFaceLandmarker } from '../loadLandmarker';
import { parseZoomOut, UsageError, zoomOutOption } from '../options';

/** '1,8,32' -> [1, 8, 32]: distinct positive integers, in the order given. */
export function parseShotCounts(text: string): number[] {
  const parts = text.split(',').map((s) => s.trim());
  const counts = parts.map(Number);
  if (parts.some((p) => p === '') || counts.some((k) => !Number.isInteger(k) || k < 1))
    throw new UsageError(`--shots must be positive integers separated by commas, got "${text}"`);
  if (new Set(counts).size !== counts.length)
    throw new UsageError(`--shots lists a count twice: "${text}"`);
  return counts;
}

export const evaluateCommand = defineCommand({
  command: 'evaluate',
  describe:
    'Self-reenactment evaluation (docs/method.md) on held-out identities: L1, PSNR, SSIM, CSIM, ' +
    'landmark error and (with --fid-weights) FID, per shot count and per video, beside the ' +
    'copy-nearest-shot, mean-shot and warp-nearest-shot baselines; a terminal table, report.json and report.md',
  builder: (parser) =>
    parser
      .option('checkpoint', {
        type: 'string',
        describe:
          'A meta-learning run or checkpoint directory [default: the shipped model, checkpoints/cpu128]',
      })
      .option('data', {
        type: 'string',
        describe: "The store to evaluate on [default: the checkpoint config's data.store]",
      })
      .option('shots', {
        type: 'string',
        default: '1,8,32',
        describe: 'Shot counts K, comma-separated',
      })
      .option('finetune-epochs', {
        type: 'number',
        default: 0,
        describe:
          'Also fine-tune on the K shots for this many epochs (as `finetune`); 0 = feed-forward only',
      })
      .option('batch-size', {
        type: 'number',
        default: 1,
        describe: 'Shots per fine-tuning step (as `finetune`)',
      })
      .option('zoom-out', zoomOutOption)
      .option('videos', {
        type: 'number',
        describe: 'Evaluate at most this many videos of the split (a seeded choice) [default: all]',
      })
      .option('targets', {
        type: 'number',
        default: 8,
        describe: 'Frames per video to generate and compare (the same for every K)',
      })
      .option('split', {
        choices: ['heldout', 'all'] as const,
        default: 'heldout' as const,
        describe:
          "heldout: the identities the checkpoint's run held out (data.heldoutFraction, splitSeed); all: every video (a store the model never saw)",
      })
      .option('across-recordings', {
        type: 'boolean',
        default: false,
        describe:
          "Take the shots from one video and the targets from another of the same identity (every ordered pair of an identity's videos): fine-tune on one recording, drive with another",
      })
      .option('shots-from', {
        type: 'string',
        describe:
          "With --across-recordings: take the shots from this video only (a store key, or the video's name in it, e.g. cap12_edit); the targets come from the identity's other recordings",
      })
      .option('samples', {
        type: 'number',
        default: 4,
        describe:
          'Side-by-side PNG strips per shot count (landmarks | real | each method), under samples/',
      })
      .option('fid-weights', {
        type: 'string',
        describe:
          "pytorch-fid's Inception weights (pt_inception-2015-12-05-6726825d.pth or .safetensors); without them FID is skipped",
      })
      .option('out', {
        alias: 'o',
        type: 'string',
        describe: 'The evaluation directory [default: evaluations/<run>-<checkpoint id>]',
      })
      .option('resume', {
        type: 'boolean',
        default: false,
        describe: 'Continue the evaluation in --out (units already done are kept)',
      })
      .check((args) => {
        parseShotCounts(args.shots);
        parseZoomOut(String(args.zoomOut));
        if (args.shotsFrom !== undefined && !args.acrossRecordings)
          throw new UsageError('--shots-from needs --across-recordings');
        for (const [name, min] of [
          ['finetune-epochs', 0],
          ['batch-size', 1],
          ['targets', 1],
          ['samples', 0],
          ['videos', 1],
        ] as const) {
          const value = args[name];
          if (value === undefined) continue;
          if (!Number.isInteger(value) || value < min)
            throw new UsageError(`--${name} must be an integer >= ${min}, got ${value}`);
        }
        return true;
      }),
  async run(args, ctx) {
    const [{ evaluate }, meta, { terminalTables }] = await Promise.all([
      import('../../eval/evaluate'),
      import('../../train/metaCheckpoint'),
      import('../../eval/evaluationReport'),
    ]);
    const checkpoint = await meta.openMetaCheckpoint(
      args.checkpoint ?? meta.defaultMetaCheckpoint(),
    );
    const store = args.data ?? checkpoint.trainConfig.data.store ?? undefined;
    if (!store)
      throw new UserError(`${printable(checkpoint.dir)}: its config names no store; give --data`);
    if (!fs.existsSync(store)) throw new UserError(`${printable(store)}: no such store`);
    if (args.fidWeights && !fs.existsSync(args.fidWeights))
      throw new UserError(`${printable(args.fidWeights)}: no such file (--fid-weights)`);
    const run = path.basename(path.resolve(checkpoint.dir, '..'));
    const out = args.out ?? path.join('evaluations', `${run}-${checkpoint.id}`);
    await ctx.initBackend();
    const result = await stoppableByCtrlC(ctx.log, 'unit', (signal) =>
      evaluate({
        meta: checkpoint,
        store,
        shotCounts: parseShotCounts(args.shots),
        finetuneEpochs: args.finetuneEpochs,
        batchSize: args.batchSize,
        zoomOut: parseZoomOut(args.zoomOut),
        targets: args.targets,
        videos: args.videos,
        split: args.split,
        acrossRecordings: args.acrossRecordings,
        shotsFrom: args.shotsFrom,
        samples: args.samples,
        fidWeights: args.fidWeights,
        out,
        resume: args.resume,
        seed: ctx.seed ?? 0,
        log: ctx.log,
        loadLandmarker: loadFaceLandmarker,
        progress: (total, start) => ctx.progress(total, 'units', start),
        signal,
      }),
    );
    ctx.stdout.write(
      terminalTables(result.report) +
        `report: ${result.reportFiles.markdown} and ${result.reportFiles.json}\n` +
        (result.samples.length > 0
          ? `samples: ${path.dirname(path.dirname(result.samples[0]!))} (${result.samples.length} strips)\n`
          : ''),
    );
    if (result.interrupted) ctx.setExitCode(130);
  },
});
