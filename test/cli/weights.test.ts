import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runCli } from '../../src/cli/main';
import type { WeightsReport } from '../../src/cli/commands/weights';
import { writeSafetensorsFile } from '../../src/formats/safetensors';
import { Tensor, buildTorchZip, storage, tensor } from '../helpers/torchPickle';
import { capture, lines, STACK_FRAME } from './helpers';

const cli = (...argv: string[]) => capture((io) => runCli(argv, io));

let dir: string;
let pth: string;
let safetensors: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weights-cli-test-'));
  pth = path.join(dir, 'vgg19-dcbb9e9d.pth');
  fs.writeFileSync(
    pth,
    buildTorchZip({
      'features.0.weight': tensor('FloatStorage', new Float32Array(64 * 27), [64, 3, 3, 3]),
      'features.0.bias': tensor('FloatStorage', new Float32Array(64), [64]),
      'bn.num_batches_tracked': new Tensor(storage('LongStorage', [3]), 0, [], []),
    }),
  );
  safetensors = path.join(dir, 'converted.safetensors');
  await writeSafetensorsFile(safetensors, {
    'conv1_1.weight': { dtype: 'F16', shape: [64, 3, 3, 3], data: new Uint16Array(64 * 27) },
  });
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('talking-heads weights inspect', () => {
  test('lists a .pth checkpoint as a table', async () => {
    const out = await cli('weights', 'inspect', pth);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(lines(out.stdout)).toEqual([
      'NAME                    DTYPE  SHAPE       ELEMENTS',
      'features.0.weight       F32    [64,3,3,3]     1,728',
      'features.0.bias         F32    [64]              64',
      'bn.num_batches_tracked  I64    []                 1',
      'pytorch: 3 tensors, 1,793 elements, 7176 bytes',
    ]);
  });

  test('--json reports each tensor and the totals', async () => {
    const out = await cli('weights', 'inspect', pth, '--json');
    expect(out.code).toBe(0);
    const report: WeightsReport = JSON.parse(out.stdout);
    expect(report).toEqual({
      file: pth,
      format: 'pytorch',
      tensors: [
        { name: 'features.0.weight', dtype: 'F32', shape: [64, 3, 3, 3], elements: 1728 },
        { name: 'features.0.bias', dtype: 'F32', shape: [64], elements: 64 },
        { name: 'bn.num_batches_tracked', dtype: 'I64', shape: [], elements: 1 },
      ],
      totalTensors: 3,
      totalElements: 1793,
      totalBytes: 1728 * 4 + 64 * 4 + 8,
    });
  });

  test('lists a .safetensors file', async () => {
    const out = await cli('weights', 'inspect', safetensors);
    expect(out.code).toBe(0);
    expect(lines(out.stdout)).toEqual([
      'NAME            DTYPE  SHAPE       ELEMENTS',
      'conv1_1.weight  F16    [64,3,3,3]     1,728',
      'safetensors: 1 tensor, 1,728 elements, 3456 bytes',
    ]);
    const json: WeightsReport = JSON.parse(
      (await cli('weights', 'inspect', safetensors, '--json')).stdout,
    );
    expect(json.format).toBe('safetensors');
    expect(json.tensors).toEqual([
      { name: 'conv1_1.weight', dtype: 'F16', shape: [64, 3, 3, 3], elements: 1728 },
    ]);
  });

  test('a missing file is one line on stderr and exit status 2', async () => {
    const missing = path.join(dir, 'nope.pth');
    const out = await cli('weights', 'inspect', missing);
    expect(out.code).toBe(2);
    expect(out.stdout).toBe('');
    expect(lines(out.stderr)).toEqual([`talking-heads: ${missing}: no such file`]);
    expect(out.stderr).not.toMatch(STACK_FRAME);
  });

  test('a corrupt checkpoint is one line naming the file and the tensor', async () => {
    const broken = path.join(dir, 'broken.pth');
    fs.writeFileSync(
      broken,
      buildTorchZip({ w: tensor('FloatStorage', [1], [1]) }, { omit: ['data/0'] }),
    );
    const out = await cli('weights', 'inspect', broken);
    expect(out.code).toBe(2);
    expect(lines(out.stderr)).toEqual([
      `talking-heads: ${broken}: missing storage entry 'archive/data/0' for tensor 'w'`,
    ]);
  });

  test('an unknown action or no file is a usage error', async () => {
    const unknown = await cli('weights', 'dump', pth);
    expect(unknown.code).toBe(2);
    expect(lines(unknown.stderr)).toHaveLength(1);
    expect(unknown.stderr).toContain('inspect');
    const noFile = await cli('weights', 'inspect');
    expect(noFile.code).toBe(2);
    expect(lines(noFile.stderr)).toHaveLength(1);
  });
});
