import { defineCommand } from '../command';
import { UsageError } from '../options';

export const exportOnnxCommand = defineCommand({
  command: 'export-onnx',
  describe:
    "Export to ONNX (opset 17, NCHW, dynamic batch): a person's generator with psi' baked in " +
    "(--person), or a meta checkpoint's embedder or two-input generator (--checkpoint --part)",
  builder: (parser) =>
    parser
      .option('person', {
        type: 'string',
        describe: 'A person model made by `finetune`: exports its generator (landmarks -> frame)',
      })
      .option('checkpoint', {
        type: 'string',
        describe:
          'A meta-learning run or checkpoint: exports --part [default: the shipped model, checkpoints/cpu128, when --part is given]',
      })
      .option('part', {
        choices: ['embedder', 'generator'] as const,
        describe:
          "With --checkpoint: 'embedder' (frames, landmarks -> e and ê) or 'generator' (landmarks, ê -> frame)",
      })
      .option('out', {
        alias: 'o',
        type: 'string',
        demandOption: true,
        describe: 'The .onnx file to write',
      })
      .option('fp16', {
        type: 'boolean',
        default: false,
        describe:
          'Store weights in half precision (half the file; the graph still computes in fp32)',
      })
      .check((args) => {
        if (args.person && (args.checkpoint || args.part))
          throw new UsageError(
            'give either --person PERSON_MODEL or --checkpoint/--part, not both',
          );
        if (!args.person && !args.part)
          throw new UsageError(
            'give --person PERSON_MODEL, or --part embedder|generator (with --checkpoint)',
          );
        return true;
      }),
  async run(args, ctx) {
    const [{ exportPersonGenerator, exportMetaPart }, { writeOnnxModel }, meta] = await Promise.all(
      [
        import('../../export/exportOnnx'),
        import('../../export/onnxFile'),
        import('../../train/metaCheckpoint'),
      ],
    );
    await ctx.initBackend();
    const precision = args.fp16 ? 'float16' : 'float32';
    const model = args.person
      ? await exportPersonGenerator(args.person, precision)
      : await exportMetaPart(
          args.checkpoint ?? meta.defaultMetaCheckpoint(),
          args.part!,
          precision,
        );
    const bytes = await writeOnnxModel(args.out, model);
    const graph = model.graph!;
    const describe = (values: typeof graph.input) =>
      (values ?? [])
        .map((v) => {
          const dims = v.type?.tensorType?.shape?.dim ?? [];
          return `${v.name} [${dims.map((d) => d.dimParam || String(d.dimValue)).join(', ')}]`;
        })
        .join(', ');
    ctx.stdout.write(
      `wrote ${args.out}: ${(bytes / 2 ** 20).toFixed(1)} MiB, ${graph.node!.length} nodes, opset 17, ` +
        `${precision} weights\n  inputs:  ${describe(graph.input)}\n  outputs: ${describe(graph.output)}\n`,
    );
  },
});
