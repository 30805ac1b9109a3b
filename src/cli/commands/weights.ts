import type { RawTensor, SafetensorsDtype } from '../../formats/safetensors';
import type { WeightsFile, WeightsFormat } from '../../formats/weightsFile';
import { defineCommand } from '../command';

export interface TensorSummary {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  elements: number;
}

export interface WeightsReport {
  file: string;
  format: WeightsFormat;
  tensors: TensorSummary[];
  totalTensors: number;
  totalElements: number;
  /** The tensors' data, as stored. */
  totalBytes: number;
}

export function weightsReport(file: string, contents: WeightsFile): WeightsReport {
  const tensors = Object.entries(contents.tensors).map(([name, t]) => summary(name, t));
  return {
    file,
    format: contents.format,
    tensors,
    totalTensors: tensors.length,
    totalElements: tensors.reduce((n, t) => n + t.elements, 0),
    totalBytes: Object.values(contents.tensors).reduce((n, t) => n + t.data.byteLength, 0),
  };
}

function summary(name: string, tensor: RawTensor): TensorSummary {
  const { dtype, shape } = tensor;
  return { name, dtype, shape, elements: shape.reduce((n, d) => n * d, 1) };
}

/** One row per tensor (NAME DTYPE SHAPE ELEMENTS), then the totals. */
export function formatWeightsReport(report: WeightsReport): string {
  const rows = report.tensors.map((t) => [
    t.name,
    t.dtype,
    JSON.stringify(t.shape),
    t.elements.toLocaleString('en-US'),
  ]);
  const table = [['NAME', 'DTYPE', 'SHAPE', 'ELEMENTS'], ...rows];
  const widths = [0, 1, 2, 3].map((col) => Math.max(...table.map((row) => row[col]!.length)));
  const lines = table.map((row) =>
    row
      .map((cell, col) => (col === 3 ? cell.padStart(widths[col]!) : cell.padEnd(widths[col]!)))
      .join('  '),
  );
  const { totalTensors, totalElements, totalBytes } = report;
  lines.push(
    `${report.format}: ${totalTensors} tensor${totalTensors === 1 ? '' : 's'}, ` +
      `${totalElements.toLocaleString('en-US')} elements, ${megabytes(totalBytes)}`,
  );
  return lines.join('\n') + '\n';
}

function megabytes(bytes: number): string {
  return bytes < 1e6 ? `${bytes} bytes` : `${(bytes / 1e6).toFixed(1)} MB`;
}

export const weightsCommand = defineCommand({
  command: 'weights <action> <file>',
  describe:
    'Inspect a weights file (.safetensors, or a PyTorch .pth/.pt checkpoint): ' +
    'the name, dtype and shape of each tensor',
  builder: (parser) =>
    parser
      .positional('action', {
        choices: ['inspect'] as const,
        demandOption: true,
        describe: 'inspect: list the tensors',
      })
      .positional('file', {
        type: 'string',
        demandOption: true,
        describe: 'A .safetensors file or a PyTorch checkpoint (told apart by content)',
      })
      .option('json', {
        type: 'boolean',
        default: false,
        describe: 'Print JSON instead of a table',
      }),
  async run(args, ctx) {
    // Loaded on demand: reading safetensors loads tfjs, which `--help` should not pay for.
    const { readWeightsFile } = await import('../../formats/weightsFile');
    const report = weightsReport(args.file, await readWeightsFile(args.file));
    ctx.stdout.write(
      args.json ? JSON.stringify(report, null, 2) + '\n' : formatWeightsReport(report),
    );
  },
});
