import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { UserError } from '../../src/errors';
import { encodeSafetensors, writeSafetensorsFile } from '../../src/formats/safetensors';
import { readWeightsFile, weightsFormat } from '../../src/formats/weightsFile';
import { buildLegacyTorchFile, buildTorchZip, tensor } from '../helpers/torchPickle';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weights-file-test-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const file = (name: string, bytes?: Uint8Array) => {
  const p = path.join(dir, name);
  if (bytes) fs.writeFileSync(p, bytes);
  return p;
};

async function userError(promise: Promise<unknown>): Promise<string> {
  const err = await promise.then(
    () => new Error('expected a UserError, nothing was thrown'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UserError);
  const { message } = err as UserError;
  expect(message).not.toContain('\n');
  return message;
}

const torchTensors = () => ({
  'features.0.weight': tensor('FloatStorage', [0.5, -1, 2, 0.25], [1, 1, 2, 2]),
  'features.0.bias': tensor('HalfStorage', [0x3c00], [1]),
});
const expected = {
  'features.0.weight': {
    dtype: 'F32',
    shape: [1, 1, 2, 2],
    data: Float32Array.of(0.5, -1, 2, 0.25),
  },
  'features.0.bias': { dtype: 'F16', shape: [1], data: Uint16Array.of(0x3c00) },
};

describe('readWeightsFile', () => {
  test('reads PyTorch zip and legacy checkpoints and safetensors, told apart by content', async () => {
    // Names that lie about the content: the content decides.
    const zip = file('zip.safetensors', buildTorchZip(torchTensors()));
    const legacy = file('legacy.bin', buildLegacyTorchFile(torchTensors()));
    const safetensors = file('converted.pth');
    await writeSafetensorsFile(safetensors, expected as never);
    expect(await readWeightsFile(zip)).toEqual({ format: 'pytorch', tensors: expected });
    expect(await readWeightsFile(legacy)).toEqual({ format: 'pytorch', tensors: expected });
    expect(await readWeightsFile(safetensors)).toEqual({
      format: 'safetensors',
      tensors: expected,
    });
  });

  test('a missing file, a directory, an empty file', async () => {
    const missing = file('missing.pth');
    expect(await userError(readWeightsFile(missing))).toBe(`${missing}: no such file`);
    expect(await userError(readWeightsFile(dir))).toBe(
      `${dir}: is a directory, not a weights file`,
    );
    const empty = file('empty.pth', new Uint8Array(0));
    expect(await userError(readWeightsFile(empty))).toContain(`${empty}: not a safetensors file`);
  });

  test('errors inside a file name it (and the tensor)', async () => {
    const bytes = buildTorchZip(torchTensors(), { omit: ['data/1'] });
    const broken = file('broken.pth', bytes);
    expect(await userError(readWeightsFile(broken))).toBe(
      `${broken}: missing storage entry 'archive/data/1' for tensor 'features.0.bias'`,
    );
    const tar = new Uint8Array(1024);
    tar.set(Buffer.from('sys_info'), 0);
    tar.set(Buffer.from('ustar'), 257);
    const old = file('old.pth', tar);
    expect(await userError(readWeightsFile(old))).toContain(
      `${old}: legacy PyTorch format: re-save`,
    );
  });
});

describe('weightsFormat', () => {
  test('zip and legacy pickles are PyTorch; anything else is left to the safetensors reader', () => {
    expect(weightsFormat(buildTorchZip(torchTensors()))).toBe('pytorch');
    expect(weightsFormat(buildLegacyTorchFile(torchTensors()))).toBe('pytorch');
    expect(weightsFormat(encodeSafetensors(expected as never))).toBe('safetensors');
    expect(weightsFormat(new Uint8Array(0))).toBe('safetensors');
  });

  test("a safetensors header containing 'ustar' at byte 257 is still safetensors", () => {
    const name = 'x'.repeat(247) + 'ustar'; // the name starts at byte 10, after '{"'
    const bytes = encodeSafetensors({
      [name]: { dtype: 'U8', shape: [1], data: Uint8Array.of(7) },
    });
    expect(Buffer.from(bytes.subarray(257, 262)).toString()).toBe('ustar');
    expect(weightsFormat(bytes)).toBe('safetensors');
  });
});
