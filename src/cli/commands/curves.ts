import * as path from 'node:path';
import { UsageError } from '../options';
import { defineCommand } from '../command';

export const curvesCommand = defineCommand({
  command: 'curves <runs..>',
  describe:
    "Plot training runs' TensorBoard scalars against training time (or steps) as one PNG: " +
    'one panel per --tag, one line per run, to compare recipes',
  builder: (parser) =>
    parser
      .positional('runs', {
        type: 'string',
        array: true,
        demandOption: true,
        describe: 'Run directories written by train-meta (resumed runs are joined)',
      })
      .option('tag', {
        type: 'string',
        array: true,
        default: ['eval/l1_heldout_frames'],
        describe: 'A scalar to plot, e.g. eval/l1_unseen_people or loss/total (repeatable)',
      })
      .option('label', {
        type: 'string',
        array: true,
        describe: "Each run's name in the legend, in order [default: the run directory's name]",
      })
      .option('x', {
        choices: ['hours', 'steps'] as const,
        default: 'hours' as const,
        describe: 'The horizontal axis: training hours (gaps between resumes left out) or steps',
      })
      .option('out', {
        alias: 'o',
        type: 'string',
        demandOption: true,
        describe: 'The PNG file to write',
      })
      .check((args) => {
        if (args.label && args.label.length !== args.runs.length)
          throw new UsageError(
            `--label given ${args.label.length} times for ${args.runs.length} runs`,
          );
        return true;
      }),
  async run(args, ctx) {
    const [{ readRunCurves }, { renderLineCharts }, { writeFileAtomically }] = await Promise.all([
      import('../../train/tensorboard/runCurves'),
      import('../../plot/lineChart'),
      import('../../fileSystem'),
    ]);
    const tags = args.tag;
    const runs = await Promise.all(args.runs.map((run) => readRunCurves(run, tags)));
    const png = await renderLineCharts(
      tags.map((tag) => ({
        title: tag,
        xLabel: args.x === 'hours' ? 'training hours' : 'step',
        yLabel: tag.split('/').pop()!,
        series: runs.map((curves, i) => ({
          label: args.label?.[i] ?? path.basename(path.resolve(args.runs[i]!)),
          points: curves
            .get(tag)!
            .map((p) => ({ x: args.x === 'hours' ? p.hours : p.step, y: p.value })),
        })),
      })),
    );
    await writeFileAtomically(args.out, png);
    const last = runs.map((curves) =>
      tags
        .map((tag) => {
          const p = curves.get(tag)!.at(-1)!;
          return `${tag} ${p.value.toPrecision(4)} at step ${p.step} (${p.hours.toFixed(2)} h)`;
        })
        .join(', '),
    );
    ctx.stdout.write(
      `wrote ${args.out}\n` + last.map((line, i) => `  ${args.runs[i]}: ${line}\n`).join(''),
    );
  },
});
