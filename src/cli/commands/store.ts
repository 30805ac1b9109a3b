import { printable } from '../../oneLine';
import type { FailureRecord, StoreSettings } from '../../data/store/schema';
import type { DatasetStore } from '../../data/store/store';
import type { MergeCounts } from '../../data/store/merge';
import { defineCommand, type CliCommand } from '../command';

export interface StoreReport {
  path: string;
  settings: StoreSettings;
  finalised: boolean;
  videos: number;
  identities: number;
  frames: number;
  failures: FailureRecord[];
}

/** Failures listed by `store info` before the rest are only counted. */
const LISTED_FAILURES = 20;

export function storeReport(store: DatasetStore): StoreReport {
  const finalised = store.isFinalised();
  const index = finalised ? store.index() : store.computeIndex();
  return {
    path: store.path,
    settings: store.settings,
    finalised,
    videos: index.videos.length,
    identities: index.identities.length,
    frames: index.frameCounts.reduce((n, c) => n + c, 0),
    failures: store.failures(),
  };
}

export function formatStoreReport(report: StoreReport): string {
  const { settings } = report;
  const n = (value: number) => value.toLocaleString('en-US');
  const lines = [
    `store: ${printable(report.path)}`,
    `format: ${settings.format}, made by ${settings.producer}`,
    `frames: ${settings.size}x${settings.size} JPEG (quality ${settings.jpegQuality}), ` +
      `up to ${settings.framesPerVideo} per video`,
    `crop: scale ${settings.crop.scale}, offsetY ${settings.crop.offsetY}`,
    `videos: ${n(report.videos)}`,
    `identities: ${n(report.identities)}`,
    `stored frames: ${n(report.frames)}`,
    `failures: ${n(report.failures.length)}`,
    ...report.failures
      .slice(0, LISTED_FAILURES)
      .map((f) => `  ${printable(f.key)}: ${printable(f.reason)}`),
  ];
  if (report.failures.length > LISTED_FAILURES) {
    lines.push(`  ... and ${n(report.failures.length - LISTED_FAILURES)} more`);
  }
  lines.push(
    report.finalised
      ? 'finalised: yes'
      : `finalised: no (run ${settings.producer} again to finish it)`,
  );
  return lines.join('\n') + '\n';
}

export function formatMergeCounts(output: string, inputs: number, counts: MergeCounts): string {
  const plural = (count: number, word: string) =>
    `${count.toLocaleString('en-US')} ${word}${count === 1 ? '' : 's'}`;
  return (
    `merged ${plural(inputs, 'store')} into ${printable(output)}: ` +
    `${plural(counts.videos, 'video')} (${plural(counts.frames, 'frame')}), ` +
    `${plural(counts.failures, 'failure')}, ${plural(counts.duplicates, 'duplicate')} skipped\n`
  );
}

const infoCommand = defineCommand({
  command: 'info <store>',
  describe: 'Settings and contents of a store: videos, identities, frames, failures',
  builder: (parser) =>
    parser
      .positional('store', { type: 'string', demandOption: true, describe: 'A store directory' })
      .option('json', { type: 'boolean', default: false, describe: 'Print JSON instead of text' }),
  async run(args, ctx) {
    // Loaded on demand: lmdb is a native module, which `--help` and other commands need not load.
    const { DatasetStore } = await import('../../data/store/store');
    const store = DatasetStore.open(args.store);
    try {
      const report = storeReport(store);
      ctx.stdout.write(
        args.json ? JSON.stringify(report, null, 2) + '\n' : formatStoreReport(report),
      );
    } finally {
      await store.close();
    }
  },
});

const mergeCommand = defineCommand({
  command: 'merge <output> <inputs..>',
  describe: 'Join shard stores (equal settings) into one store, new or existing, and finalise it',
  builder: (parser) =>
    parser
      .positional('output', { type: 'string', demandOption: true, describe: 'The merged store' })
      .positional('inputs', {
        type: 'string',
        array: true,
        demandOption: true,
        describe: 'The stores to join',
      }),
  async run(args, ctx) {
    const { mergeStores } = await import('../../data/store/merge');
    const counts = await mergeStores(args.output, args.inputs, { log: ctx.log });
    ctx.stdout.write(formatMergeCounts(args.output, args.inputs.length, counts));
  },
});

/** `store info` and `store merge`, as subcommands so that each has its own usage and help. */
export const storeCommand: CliCommand = {
  register: (parser, makeContext) =>
    parser.command(
      'store',
      'Inspect a preprocessed dataset store, or merge shard stores',
      (store) =>
        mergeCommand
          .register(infoCommand.register(store, makeContext), makeContext)
          .demandCommand(1, 'missing store action: info or merge'),
    ),
};
