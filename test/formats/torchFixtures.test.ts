/**
 * Checkpoints written by PyTorch itself (test/fixtures/torch, made by make_fixtures.py), read
 * as `weights inspect` and the VGG backbone loader read them, against PyTorch's own values.
 * The other tests' checkpoints come from test/helpers/torchPickle.ts, a model of torch.save;
 * these keep that model honest. No Python is needed here.
 */
import * as fs from 'fs';
import * as path from 'path';
import { formatWeightsReport, weightsReport } from '../../src/cli/commands/weights';
import {
  bf16BitsToF32,
  f16BitsToF32,
  type RawTensor,
  type SafetensorsDtype,
} from '../../src/formats/safetensors';
import { torchLayout } from '../../src/formats/torchCheckpoint';
import { readWeightsFile, weightsFormat } from '../../src/formats/weightsFile';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'torch');

/** One tensor as make_fixtures.py reports it (int64 values as strings: beyond 2**53). */
interface Expected {
  name: string;
  dtype: string;
  shape: number[];
  stride: number[];
  storage_offset: number;
  values: (number | string)[];
}

const expected: { torch_version: string; tensors: Expected[] } = JSON.parse(
  fs.readFileSync(path.join(FIXTURES, 'vgg_small.expected.json'), 'utf8'),
);

/** torch dtype names as the reader names them. */
const DTYPES: Record<string, SafetensorsDtype> = {
  float32: 'F32',
  float16: 'F16',
  bfloat16: 'BF16',
  int64: 'I64',
};

/** The tensor's values as PyTorch's tolist() gives them (exact: no rounding anywhere). */
function values(t: RawTensor): (number | string)[] {
  switch (t.dtype) {
    case 'F32':
      return Array.from(t.data as Float32Array);
    case 'F16':
      return Array.from(f16BitsToF32(t.data as Uint16Array));
    case 'BF16':
      return Array.from(bf16BitsToF32(t.data as Uint16Array));
    case 'I64':
      return Array.from(t.data as BigInt64Array, String);
    default:
      throw new Error(`no fixture has dtype ${t.dtype}`);
  }
}

const FILES = [
  ['vgg_small.pth', 'zip'],
  ['vgg_small_legacy.pth', 'legacy'],
] as const;

test('the fixtures hold what they are there to test', () => {
  const { tensors } = expected;
  const dtypes = new Set(tensors.map((t) => t.dtype));
  expect([...dtypes].sort()).toEqual(['bfloat16', 'float16', 'float32', 'int64']);
  const contiguous = (t: Expected) =>
    t.shape.every((_, i) => t.shape[i] === 1 || t.stride[i] === product(t.shape.slice(i + 1)));
  expect(tensors.filter((t) => !contiguous(t)).map((t) => t.name)).toEqual([
    'features.3.weight',
    'features.4.running_var',
    'classifier.0.weight',
    'classifier.3.bias',
  ]);
  expect(tensors.filter((t) => t.storage_offset > 0).length).toBeGreaterThanOrEqual(3);
  expect(tensors.some((t) => t.shape.length === 0)).toBe(true);
  for (const t of tensors) expect(t.values).toHaveLength(product(t.shape));
});

describe.each(FILES)('%s, written by PyTorch', (file, layout) => {
  const fixture = path.join(FIXTURES, file);

  test(`is recognised as the ${layout} layout`, () => {
    const bytes = fs.readFileSync(fixture);
    expect(torchLayout(bytes)).toBe(layout);
    expect(weightsFormat(bytes)).toBe('pytorch');
  });

  test("reads back every tensor's name, dtype, shape and values as PyTorch has them", async () => {
    const { format, tensors } = await readWeightsFile(fixture);
    expect(format).toBe('pytorch');
    expect(Object.keys(tensors)).toEqual(expected.tensors.map((t) => t.name));
    for (const want of expected.tensors) {
      const got = tensors[want.name]!;
      expect({ name: want.name, dtype: got.dtype, shape: got.shape }).toEqual({
        name: want.name,
        dtype: DTYPES[want.dtype],
        shape: want.shape,
      });
      expect(got.data.length).toBe(product(want.shape));
      expect({ name: want.name, values: values(got) }).toEqual({
        name: want.name,
        values: want.values,
      });
    }
  });

  test('is listed as `weights inspect` lists it', async () => {
    const report = weightsReport(fixture, await readWeightsFile(fixture));
    const elements = expected.tensors.map((t) => product(t.shape));
    expect(report.tensors).toEqual(
      expected.tensors.map((t, i) => ({
        name: t.name,
        dtype: DTYPES[t.dtype],
        shape: t.shape,
        elements: elements[i],
      })),
    );
    const bytes = { float32: 4, float16: 2, bfloat16: 2, int64: 8 } as Record<string, number>;
    expect(report).toMatchObject({
      format: 'pytorch',
      totalTensors: 18,
      totalElements: sum(elements),
      totalBytes: sum(expected.tensors.map((t, i) => bytes[t.dtype]! * elements[i]!)),
    });
    const lines = formatWeightsReport(report).trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME +DTYPE +SHAPE +ELEMENTS$/);
    expect(lines.slice(1, -1).map((line) => line.split(/ +/))).toEqual(
      report.tensors.map((t) => [t.name, t.dtype, JSON.stringify(t.shape), String(t.elements)]),
    );
    expect(lines.at(-1)).toBe(
      `pytorch: 18 tensors, ${report.totalElements} elements, ${report.totalBytes} bytes`,
    );
  });
});

function product(shape: number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

function sum(values: number[]): number {
  return values.reduce((n, v) => n + v, 0);
}
