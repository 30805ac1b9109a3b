import type { PreprocessSummary } from '../../data/preprocess/runPreprocess';
import { UsageError } from '../options';
import { defineCommand } from '../command';
import { stoppableByCtrlC } from '../interrupt';
import { storeRunContext } from '../storeRunContext';
import { cropOptions, storeSettingsOptions } from './dataOptions';

/** The run's result in a few lines: counts, speed, then each failure with its reason. */
export function formatPreprocessSummary(summary: PreprocessSummary, out: string): string {
  const { done, alreadyDone, failed, framesStored, framesDecoded, seconds } = summary;
  const perSecond = (n: number) => (seconds > 0 ? (n / seconds).toFixed(1) : '-');
  const lines = [
    `${summary.interrupted ? 'interrupted' : 'finished'}: ${done} stored, ${alreadyDone} already done, ` +
      `${failed.length} failed, of ${summary.total} videos; ${framesStored} frames stored in ${seconds.toFixed(1)} s ` +
      `(${perSecond(framesStored)} stored frames/s, ${perSecond(framesDecoded)} decoded frames/s)`,
    ...failed.map((f) => `failed: ${f.source}: ${f.reason}`),
    summary.interrupted ? `run the same command again to resume into ${out}` : `store: ${out}`,
  ];
  return lines.join('\n') + '\n';
}

export const preprocessCommand = defineCommand({
  command: 'preprocess <input>',
  describe:
    'Turn a folder of talking-head videos (VoxCeleb2 layout id*/video/*.mp4, or any folder) ' +
    'into an LMDB store of face crops, landmarks and metadata; resumable and shardable',
  builder: (parser) =>
    cropOptions(storeSettingsOptions(parser))
      .positional('input', {
        type: 'string',
        demandOption: true,
        describe: 'A folder of videos (searched recursively) or one video file',
      })
      .option('out', {
        alias: 'o',
        type: 'string',
        demandOption: true,
        describe: 'The store directory (created, or resumed if it exists)',
      })
      .option('min-frames', {
        type: 'number',
        default: 9,
        describe: 'A video with fewer sampled frames showing a face fails (K + 1 for K = 8)',
      })
      .option('shard', {
        type: 'number',
        default: 0,
        describe: "This job's shard, 0-based (array jobs: the task index)",
      })
      .option('num-shards', {
        type: 'number',
        default: 1,
        describe: 'Split the videos into this many shards (join them with `store merge`)',
      })
      .option('retry-failed', {
        type: 'boolean',
        default: false,
        describe: 'Try again the videos an earlier run recorded as failed',
      })
      .check((args) => {
        const numShards = args['num-shards'];
        if (!Number.isInteger(numShards) || numShards < 1)
          throw new UsageError('--num-shards must be a positive integer');
        if (!Number.isInteger(args.shard) || args.shard < 0 || args.shard >= numShards)
          throw new UsageError(`--shard must be an integer in [0, ${numShards - 1}]`);
        if (!Number.isInteger(args['min-frames']) || args['min-frames'] < 1)
          throw new UsageError('--min-frames must be a positive integer');
        return true;
      }),
  async run(args, ctx) {
    const [{ runPreprocess }, { settingsFromArgs }] = await Promise.all([
      import('../../data/preprocess/runPreprocess'),
      import('./dataOptions'),
    ]);
    const summary = await stoppableByCtrlC(ctx.log, 'video', (signal) =>
      runPreprocess({
        input: args.input,
        out: args.out,
        settings: settingsFromArgs(args, 'preprocess'),
        minFrames: args.minFrames,
        shard: args.shard,
        numShards: args.numShards,
        retryFailed: args.retryFailed,
        ...storeRunContext(ctx, 'videos'),
        signal,
      }),
    );
    ctx.stdout.write(formatPreprocessSummary(summary, args.out));
    if (summary.interrupted) ctx.setExitCode(130);
  },
});
