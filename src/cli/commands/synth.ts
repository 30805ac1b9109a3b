import type { SynthSummary } from '../../data/synth/runSynth';
import { DEFAULT_MIN_FACE_SIZE } from '../../data/synth/synthFaces';
import { defineCommand } from '../command';
import { stoppableByCtrlC } from '../interrupt';
import { storeRunContext } from '../storeRunContext';
import { UsageError } from '../options';
import { cropOptions, storeSettingsOptions } from './dataOptions';

export function formatSynthSummary(summary: SynthSummary, out: string): string {
  const lines = [
    `${summary.interrupted ? 'interrupted' : 'finished'}: ${summary.clips} clips of ${summary.identities} identities stored, ` +
      `${summary.alreadyDone} already done; ${summary.framesStored} frames in ${summary.seconds.toFixed(1)} s`,
    ...summary.skipped.map((s) => `skipped: ${s}`),
    summary.interrupted ? `run the same command again to resume into ${out}` : `store: ${out}`,
  ];
  return lines.join('\n') + '\n';
}

export const synthCommand = defineCommand({
  command: 'synth [photos..]',
  describe:
    'Make a synthetic talking-head corpus from still portraits (default: the sample photos ' +
    'bundled with face-api): one identity per face, clips of head, mouth and eye motion',
  builder: (parser) =>
    cropOptions(storeSettingsOptions(parser))
      .positional('photos', {
        type: 'string',
        array: true,
        describe: 'Photos or folders of photos [default: the face-api demo photos]',
      })
      .option('out', {
        alias: 'o',
        type: 'string',
        demandOption: true,
        describe: 'The store directory (created, or resumed if it exists)',
      })
      .option('clips', {
        type: 'number',
        default: 2,
        describe: 'Clips per identity',
      })
      .option('min-face-size', {
        type: 'number',
        default: DEFAULT_MIN_FACE_SIZE,
        describe: 'Leave out faces whose detected box is smaller than this (px)',
      })
      .check((args) => {
        if (!Number.isInteger(args.clips) || args.clips < 1)
          throw new UsageError('--clips must be a positive integer');
        if (!(args['min-face-size'] >= 0)) throw new UsageError('--min-face-size must be >= 0');
        return true;
      }),
  async run(args, ctx) {
    const [{ runSynth, defaultPhotos, resolvePhotos }, { settingsFromArgs }] = await Promise.all([
      import('../../data/synth/runSynth'),
      import('./dataOptions'),
    ]);
    const photos = args.photos?.length ? resolvePhotos(args.photos) : defaultPhotos();
    const summary = await stoppableByCtrlC(ctx.log, 'photo', (signal) =>
      runSynth({
        photos,
        out: args.out,
        settings: settingsFromArgs(args, 'synth'),
        clipsPerIdentity: args.clips,
        minFaceSize: args.minFaceSize,
        seed: ctx.seed ?? 0,
        ...storeRunContext(ctx, 'photos'),
        signal,
      }),
    );
    ctx.stdout.write(formatSynthSummary(summary, args.out));
    if (summary.interrupted) ctx.setExitCode(130);
  },
});
