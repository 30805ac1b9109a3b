import { defineCommand } from '../command';

export const releaseCommand = defineCommand({
  command: 'release <checkpoint>',
  describe:
    'Write a meta-learning checkpoint as a model to ship: the weights of E, G and D (no per-video ' +
    'W, no optimizer state), float16 by default; finetune, evaluate and animate open it with --checkpoint',
  builder: (parser) =>
    parser
      .positional('checkpoint', {
        type: 'string',
        demandOption: true,
        describe: 'A meta-learning run (its latest checkpoint) or one checkpoint directory',
      })
      .option('out', {
        alias: 'o',
        type: 'string',
        demandOption: true,
        describe: 'The model directory to write (other files there, a model card, are kept)',
      })
      .option('fp32', {
        type: 'boolean',
        default: false,
        describe: 'Keep float32 weights (twice the file)',
      }),
  async run(args, ctx) {
    const { releaseModel } = await import('../../train/releaseModel');
    const summary = await releaseModel(args.checkpoint, args.out, {
      precision: args.fp32 ? 'F32' : 'F16',
    });
    ctx.stdout.write(
      `wrote ${args.out}: step ${summary.step}, ${summary.tensors} tensors, ` +
        `${(summary.bytes / 2 ** 20).toFixed(1)} MiB (${args.fp32 ? 'float32' : 'float16'})\n`,
    );
  },
});
