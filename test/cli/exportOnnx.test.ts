/**
 * @jest-environment ./test/helpers/hostTypedArraysEnvironment.js
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCli } from '../../src/cli/main';
import { makeUntrainedMetaCheckpoint } from '../helpers/metaCheckpoint';
import { ASTRONAUT } from '../helpers/videos';
import { capture, expectUserError, makeFeedForwardPerson } from './helpers';

let dir: string;
let meta: string;
let otherMeta: string;
let person: string;

const cli = (args: string[]) =>
  capture((io) => runCli(['--backend', 'wasm', '--log-level', 'warn', ...args], io));

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'th-onnx-'));
  meta = await makeUntrainedMetaCheckpoint(path.join(dir, 'meta'), { imageSize: 64, seed: 4 });
  otherMeta = await makeUntrainedMetaCheckpoint(path.join(dir, 'other'), {
    imageSize: 64,
    seed: 5,
  });
  person = await makeFeedForwardPerson(cli, {
    meta,
    out: path.join(dir, 'astronaut'),
    photo: ASTRONAUT,
  });
}, 120_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test("export-onnx --person writes the person's generator; onnx-check passes at batch 1 and 3", async () => {
  const out = path.join(dir, 'person.onnx');
  const exported = await cli(['export-onnx', '--person', person, '--out', out]);
  expect(exported.code).toBe(0);
  expect(exported.stdout).toMatch(
    /^wrote .*person\.onnx: [\d.]+ MiB, \d+ nodes, opset 17, float32 weights$/m,
  );
  expect(exported.stdout).toContain('inputs:  landmarks [batch, 3, 64, 64]');
  expect(exported.stdout).toContain('outputs: frame [batch, 3, 64, 64]');
  expect(fs.readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);

  const checked = await cli(['onnx-check', out, '--against', person]);
  expect(checked.code).toBe(0);
  expect(checked.stdout).toMatch(
    /person-generator, float32 weights, from person:step-0-[0-9a-f]{12}\/person-[0-9a-f]{12}/,
  );
  expect(checked.stdout).toMatch(/^structure: ok/m);
  expect(checked.stdout).toMatch(
    /^batch 1 frame: max abs diff \S+, mean \S+ \(tfjs values up to 0\.\d+\)$/m,
  );
  expect(checked.stdout).toMatch(/^batch 3 frame: max abs diff /m);
  expect(checked.stdout).toMatch(/^batch 3 time: onnxruntime \d+ ms, tfjs \d+ ms$/m);
  expect(checked.stdout).toMatch(/^PASS: max abs diff \S+, within tolerance 1e-4$/m);
}, 120_000);

test('export-onnx --checkpoint --part generator|embedder, --fp16; a file checked against other weights fails', async () => {
  const generator = path.join(dir, 'generator.onnx');
  const embedder = path.join(dir, 'embedder-fp16.onnx');
  expect(
    (await cli(['export-onnx', '--checkpoint', meta, '--part', 'generator', '-o', generator])).code,
  ).toBe(0);
  const half = await cli([
    'export-onnx',
    '--checkpoint',
    meta,
    '--part',
    'embedder',
    '-o',
    embedder,
    '--fp16',
  ]);
  expect(half.code).toBe(0);
  expect(half.stdout).toContain('float16 weights');
  expect(half.stdout).toContain('outputs: embedding [batch, 32], mean_embedding [1, 32]');

  const g = await cli(['onnx-check', generator, '--against', meta, '--batch', '2']);
  expect(g.code).toBe(0);
  expect(g.stdout).toMatch(/^batch 2 frame: /m);
  const e = await cli(['onnx-check', embedder, '--against', meta]);
  expect(e.code).toBe(0);
  expect(e.stdout).toMatch(/^batch 3 mean_embedding: /m);
  expect(e.stdout).toMatch(/within tolerance 1e-2$/m);

  const wrong = await cli(['onnx-check', generator, '--against', otherMeta]);
  expect(wrong.code).toBe(1);
  expect(wrong.stdout).toMatch(/^FAIL: max abs diff \S+, above tolerance 1e-4$/m);
}, 120_000);

test('bad input: one line naming the file or option, non-zero exit', async () => {
  const out = path.join(dir, 'x.onnx');
  const usage = await cli(['export-onnx', '--out', out]);
  expect(usage.code).not.toBe(0);
  expect(usage.stderr).toMatch(/give --person PERSON_MODEL, or --part embedder\|generator/);
  expectUserError(
    await cli(['export-onnx', '--person', path.join(dir, 'nobody'), '--out', out]),
    /nobody/,
  );
  expectUserError(
    await cli(['export-onnx', '--person', person, '--out', path.join(dir, 'no', 'such', 'x.onnx')]),
    /cannot write: no such directory/,
  );
  const junk = path.join(dir, 'junk.onnx');
  fs.writeFileSync(junk, 'not a protobuf at all, just text\n');
  expectUserError(await cli(['onnx-check', junk, '--against', meta]), /junk\.onnx: not an ONNX/);
  expectUserError(
    await cli(['onnx-check', path.join(dir, 'missing.onnx'), '--against', meta]),
    /missing\.onnx: no such file/,
  );
  const personOnnx = path.join(dir, 'p.onnx');
  expect((await cli(['export-onnx', '--person', person, '-o', personOnnx])).code).toBe(0);
  expectUserError(
    await cli(['onnx-check', personOnnx, '--against', meta]),
    /p\.onnx is a person's generator: check it --against the person model/,
  );
  expect(fs.existsSync(out)).toBe(false);
}, 120_000);
