import type { OnnxCheckReport } from '../../export/onnxCheck';
import { defineCommand } from '../command';
import { UsageError } from '../options';

/**
 * The largest max-abs-difference over its allowance (tolerance, times the output's size where
 * above 1: half-precision error grows with the values); above 1 fails. NaN fails.
 */
export function worstExcess(report: OnnxCheckReport, tolerance: number): number {
  const excesses = report.runs.flatMap((run) =>
    run.outputs.map((o) => o.maxAbsDiff / (tolerance * Math.max(1, o.maxAbsValue))),
  );
  return excesses.some(Number.isNaN) ? Infinity : Math.max(...excesses);
}

export const onnxCheckCommand = defineCommand({
  command: 'onnx-check <model>',
  describe:
    'Run an exported model in onnxruntime-node and its tfjs source on the same random landmark ' +
    'images; report the max absolute difference (exit 1 above --tolerance)',
  builder: (parser) =>
    parser
      .positional('model', { type: 'string', demandOption: true, describe: 'The .onnx file' })
      .option('against', {
        type: 'string',
        demandOption: true,
        describe: 'The person model or meta checkpoint the file was exported from',
      })
      .option('batch', {
        type: 'array',
        number: true,
        default: [1, 3],
        describe: 'Batch sizes to run',
      })
      .option('tolerance', {
        type: 'number',
        describe:
          'Largest allowed max abs difference, times the largest |output| where that is above 1 ' +
          '[default: 1e-4, or 1e-2 for fp16 weights]',
      })
      .check((args) => {
        const batches = args.batch as number[];
        if (batches.length === 0 || batches.some((b) => !Number.isInteger(b) || b < 1))
          throw new UsageError('--batch takes positive integers');
        if (args.tolerance !== undefined && !(args.tolerance > 0))
          throw new UsageError('--tolerance must be a positive number');
        return true;
      }),
  async run(args, ctx) {
    const { checkOnnxModel } = await import('../../export/onnxCheck');
    await ctx.initBackend();
    const report = await checkOnnxModel(args.model, args.against, {
      batches: args.batch as number[],
      seed: ctx.seed ?? 0,
    });
    const tolerance = args.tolerance ?? (report.weights === 'float16' ? 1e-2 : 1e-4);
    const worst = worstExcess(report, tolerance);
    const lines = [
      `${args.model}: ${report.part}, ${report.weights} weights, from ${report.source}`,
      `structure: ${report.structure.length === 0 ? 'ok (topological order, every initializer used, opset 17)' : report.structure.join('; ')}`,
    ];
    for (const run of report.runs) {
      for (const o of run.outputs) {
        lines.push(
          `batch ${run.batch} ${o.output}: max abs diff ${o.maxAbsDiff.toExponential(2)}, ` +
            `mean ${o.meanAbsDiff.toExponential(2)} (tfjs values up to ${o.maxAbsValue.toPrecision(3)}` +
            `${o.maxAbsValue === 0 ? ': all zero on these inputs, so this output is barely tested' : ''})`,
        );
      }
      lines.push(
        `batch ${run.batch} time: onnxruntime ${run.onnxMs.toFixed(0)} ms, tfjs ${run.tfjsMs.toFixed(0)} ms`,
      );
    }
    const pass = report.structure.length === 0 && worst <= 1;
    lines.push(
      `${pass ? 'PASS' : 'FAIL'}: max abs diff ${report.maxAbsDiff.toExponential(2)}, ` +
        `${pass ? 'within' : 'above'} tolerance ${tolerance.toExponential(0)}` +
        `${report.structure.length > 0 ? '; structural problems' : ''}`,
    );
    ctx.stdout.write(`${lines.join('\n')}\n`);
    if (!pass) ctx.setExitCode(1);
  },
});
