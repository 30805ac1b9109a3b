/**
 * @jest-environment ./test/helpers/hostTypedArraysEnvironment.js
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../src/backend/select';
import { UserError } from '../../../src/errors';
import {
  FID_FEATURES,
  expectedFidTensors,
  fidInceptionFromTensors,
  fidInput,
  loadFidInception,
  type FidInception,
} from '../../../src/eval/fid/inception';
import { OnnxGraphBuilder } from '../../../src/formats/onnxGraph';
import { writeSafetensorsFile, type RawTensor } from '../../../src/formats/safetensors';
import { relativeError, seededValues } from '../../helpers/compare';
import { nchwValues, runOnnx } from '../../helpers/onnx';
import {
  Storage,
  Tensor,
  buildTorchZip,
  contiguousStride,
  tensor,
  type PyValue,
} from '../../helpers/torchPickle';

/** Small, non-square inputs: the network sees them resized to 299 x 299 anyway. */
const HEIGHT = 75;
const WIDTH = 90;

let dir: string;
let weights: Record<string, RawTensor>;
let safetensorsFile: string;
let pthFile: string;

/**
 * Uniform values in [-1, 1) from the Park–Miller generator. Not seededValues: Math.imul is
 * about 30x slower inside jest's vm context, which makes 24M values take 7 s instead of 0.2 s.
 */
function uniformValues(count: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let state = (seed % 2147483646) + 1;
  for (let i = 0; i < count; i++) {
    state = (state * 48271) % 2147483647;
    out[i] = state / 1073741823.5 - 1;
  }
  return out;
}

/**
 * Random weights of the real shapes: He-scaled convs so activations stay finite through 94 of
 * them, and BatchNorm statistics away from (0, 1) so that the folding is exercised.
 */
function randomFidWeights(): Record<string, RawTensor> {
  const out: Record<string, RawTensor> = {};
  Object.entries(expectedFidTensors()).forEach(([name, shape], i) => {
    const data = uniformValues(
      shape.reduce((a, b) => a * b, 1),
      i + 1,
    );
    const leaf = name.slice(name.lastIndexOf('.') + 1);
    // He-uniform convs; BatchNorm scales and variances in [0.5, 1.5), shifts in [-0.2, 0.2).
    const [scale, offset] = name.endsWith('conv.weight')
      ? [Math.sqrt(6 / (shape[1]! * shape[2]! * shape[3]!)), 0]
      : leaf === 'weight' || leaf === 'running_var'
        ? [0.5, 1]
        : [0.2, 0];
    for (let k = 0; k < data.length; k++) data[k] = data[k]! * scale + offset;
    out[name] = { dtype: 'F32', shape, data };
  });
  return out;
}

/** A float32 tensor whose storage is the array's own bytes (the host is little-endian). */
function floatTensor(data: Float32Array, shape: number[]): Tensor {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Tensor(new Storage('FloatStorage', bytes), 0, shape, contiguousStride(shape));
}

/** As torch.save(model.state_dict()) of pytorch-fid's model: with fc and num_batches_tracked. */
function torchCheckpoint(tensors: Record<string, RawTensor>): Uint8Array {
  const dict: Record<string, PyValue> = {};
  for (const [name, t] of Object.entries(tensors)) {
    dict[name] = floatTensor(t.data as Float32Array, t.shape);
    if (name.endsWith('.bn.running_var'))
      dict[name.replace('running_var', 'num_batches_tracked')] = tensor('LongStorage', [0n], []);
  }
  dict['fc.weight'] = floatTensor(uniformValues(1008 * 2048, 999), [1008, 2048]);
  dict['fc.bias'] = floatTensor(new Float32Array(1008), [1008]);
  return buildTorchZip(dict, { archiveName: 'pt_inception-2015-12-05-6726825d' });
}

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fid-inception-'));
  weights = randomFidWeights();
  safetensorsFile = path.join(dir, 'fid_inception.safetensors');
  await writeSafetensorsFile(safetensorsFile, weights);
  pthFile = path.join(dir, 'pt_inception-2015-12-05-6726825d.pth');
  fs.writeFileSync(pthFile, torchCheckpoint(weights));
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Three RGB images in [0, 1], [3, 75, 90, 3]. */
function images(): tf.Tensor4D {
  return tf.tensor4d(
    seededValues(3 * HEIGHT * WIDTH * 3, 42).map((v) => (v + 1) / 2),
    [3, HEIGHT, WIDTH, 3],
  );
}

async function featuresOf(net: FidInception, input: tf.Tensor4D): Promise<Float32Array> {
  const f = net.features(input);
  const values = Float32Array.from(await f.data());
  f.dispose();
  return values;
}

// ---------------------------------------------------------------------------------------------
// An independent formulation: pytorch-fid's FIDInceptionV3 transcribed from its PyTorch code
// (torchvision's Inception3 blocks with pytorch-fid's FIDInceptionA/C/E_1/E_2), in ONNX: NCHW,
// OIHW weights as stored, BatchNormalization not folded, explicit pads, AveragePool with
// count_include_pad=0, and Resize 'linear' with 'half_pixel' for F.interpolate.

type Padding = number | [number, number];

class TorchLayoutInception {
  readonly used = new Set<string>();

  constructor(
    private readonly b: OnnxGraphBuilder,
    private readonly tensors: Record<string, RawTensor>,
  ) {}

  private param(name: string): string {
    const t = this.tensors[name];
    if (!t) throw new Error(`reference: no tensor ${name}`);
    this.used.add(name);
    return this.b.weight(name, t.data as Float32Array, t.shape);
  }

  /** torchvision's BasicConv2d: conv (no bias), BatchNorm2d(eps=0.001), ReLU. */
  private conv(x: string, prefix: string, options: { stride?: number; padding?: Padding } = {}) {
    const weight = this.param(`${prefix}.conv.weight`);
    const [, , kh, kw] = this.tensors[`${prefix}.conv.weight`]!.shape;
    const [ph, pw] =
      typeof options.padding === 'object'
        ? options.padding
        : [options.padding ?? 0, options.padding ?? 0];
    const s = options.stride ?? 1;
    const y = this.b.node(
      'Conv',
      [x, weight],
      { kernel_shape: [kh!, kw!], strides: [s, s], pads: [ph, pw, ph, pw] },
      `${prefix}.conv`,
    );
    const bn = this.b.node(
      'BatchNormalization',
      [
        y,
        this.param(`${prefix}.bn.weight`),
        this.param(`${prefix}.bn.bias`),
        this.param(`${prefix}.bn.running_mean`),
        this.param(`${prefix}.bn.running_var`),
      ],
      { epsilon: { float: 0.001 } },
      `${prefix}.bn`,
    );
    return this.b.node('Relu', [bn], {}, `${prefix}.relu`);
  }

  private cat(parts: string[]): string {
    return this.b.node('Concat', parts, { axis: 1 });
  }

  private maxPool(x: string, stride: number, pad: number): string {
    return this.b.node('MaxPool', [x], {
      kernel_shape: [3, 3],
      strides: [stride, stride],
      pads: [pad, pad, pad, pad],
    });
  }

  /** F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False). */
  private avgPool(x: string): string {
    return this.b.node('AveragePool', [x], {
      kernel_shape: [3, 3],
      strides: [1, 1],
      pads: [1, 1, 1, 1],
      count_include_pad: 0,
    });
  }

  private fidInceptionA(x: string, p: string): string {
    return this.cat([
      this.conv(x, `${p}.branch1x1`),
      this.conv(this.conv(x, `${p}.branch5x5_1`), `${p}.branch5x5_2`, { padding: 2 }),
      this.conv(
        this.conv(this.conv(x, `${p}.branch3x3dbl_1`), `${p}.branch3x3dbl_2`, { padding: 1 }),
        `${p}.branch3x3dbl_3`,
        { padding: 1 },
      ),
      this.conv(this.avgPool(x), `${p}.branch_pool`),
    ]);
  }

  private inceptionB(x: string, p: string): string {
    return this.cat([
      this.conv(x, `${p}.branch3x3`, { stride: 2 }),
      this.conv(
        this.conv(this.conv(x, `${p}.branch3x3dbl_1`), `${p}.branch3x3dbl_2`, { padding: 1 }),
        `${p}.branch3x3dbl_3`,
        { stride: 2 },
      ),
      this.maxPool(x, 2, 0),
    ]);
  }

  private fidInceptionC(x: string, p: string): string {
    let b7 = this.conv(x, `${p}.branch7x7_1`);
    b7 = this.conv(b7, `${p}.branch7x7_2`, { padding: [0, 3] });
    b7 = this.conv(b7, `${p}.branch7x7_3`, { padding: [3, 0] });
    let dbl = this.conv(x, `${p}.branch7x7dbl_1`);
    dbl = this.conv(dbl, `${p}.branch7x7dbl_2`, { padding: [3, 0] });
    dbl = this.conv(dbl, `${p}.branch7x7dbl_3`, { padding: [0, 3] });
    dbl = this.conv(dbl, `${p}.branch7x7dbl_4`, { padding: [3, 0] });
    dbl = this.conv(dbl, `${p}.branch7x7dbl_5`, { padding: [0, 3] });
    return this.cat([
      this.conv(x, `${p}.branch1x1`),
      b7,
      dbl,
      this.conv(this.avgPool(x), `${p}.branch_pool`),
    ]);
  }

  private inceptionD(x: string, p: string): string {
    const b3 = this.conv(this.conv(x, `${p}.branch3x3_1`), `${p}.branch3x3_2`, { stride: 2 });
    let b7 = this.conv(x, `${p}.branch7x7x3_1`);
    b7 = this.conv(b7, `${p}.branch7x7x3_2`, { padding: [0, 3] });
    b7 = this.conv(b7, `${p}.branch7x7x3_3`, { padding: [3, 0] });
    b7 = this.conv(b7, `${p}.branch7x7x3_4`, { stride: 2 });
    return this.cat([b3, b7, this.maxPool(x, 2, 0)]);
  }

  /** FIDInceptionE_1 (average pool) and FIDInceptionE_2 (max pool, stride 1, padding 1). */
  private fidInceptionE(x: string, p: string, pool: 'avg' | 'max'): string {
    const b3 = this.conv(x, `${p}.branch3x3_1`);
    let dbl = this.conv(x, `${p}.branch3x3dbl_1`);
    dbl = this.conv(dbl, `${p}.branch3x3dbl_2`, { padding: 1 });
    return this.cat([
      this.conv(x, `${p}.branch1x1`),
      this.cat([
        this.conv(b3, `${p}.branch3x3_2a`, { padding: [0, 1] }),
        this.conv(b3, `${p}.branch3x3_2b`, { padding: [1, 0] }),
      ]),
      this.cat([
        this.conv(dbl, `${p}.branch3x3dbl_3a`, { padding: [0, 1] }),
        this.conv(dbl, `${p}.branch3x3dbl_3b`, { padding: [1, 0] }),
      ]),
      this.conv(pool === 'avg' ? this.avgPool(x) : this.maxPool(x, 1, 1), `${p}.branch_pool`),
    ]);
  }

  /** InceptionV3.forward with resize_input and normalize_input, output block 3 (pool3). */
  forward(images: string, batch: number): string {
    const sizes = this.b.int64s('sizes', [batch, 3, 299, 299]);
    let x = this.b.node('Resize', [images, '', '', sizes], {
      mode: 'linear',
      coordinate_transformation_mode: 'half_pixel',
    });
    x = this.b.node('Mul', [x, this.b.constant('two', [2], [1])]);
    x = this.b.node('Sub', [x, this.b.constant('one', [1], [1])]);
    x = this.conv(x, 'Conv2d_1a_3x3', { stride: 2 });
    x = this.conv(x, 'Conv2d_2a_3x3');
    x = this.conv(x, 'Conv2d_2b_3x3', { padding: 1 });
    x = this.maxPool(x, 2, 0);
    x = this.conv(x, 'Conv2d_3b_1x1');
    x = this.conv(x, 'Conv2d_4a_3x3');
    x = this.maxPool(x, 2, 0);
    x = this.fidInceptionA(x, 'Mixed_5b');
    x = this.fidInceptionA(x, 'Mixed_5c');
    x = this.fidInceptionA(x, 'Mixed_5d');
    x = this.inceptionB(x, 'Mixed_6a');
    x = this.fidInceptionC(x, 'Mixed_6b');
    x = this.fidInceptionC(x, 'Mixed_6c');
    x = this.fidInceptionC(x, 'Mixed_6d');
    x = this.fidInceptionC(x, 'Mixed_6e');
    x = this.inceptionD(x, 'Mixed_7a');
    x = this.fidInceptionE(x, 'Mixed_7b', 'avg');
    x = this.fidInceptionE(x, 'Mixed_7c', 'max');
    x = this.b.node('GlobalAveragePool', [x]); // AdaptiveAvgPool2d((1, 1))
    return this.b.node('Flatten', [x], { axis: 1 });
  }
}

function referenceModel(tensors: Record<string, RawTensor>, batch: number) {
  const b = new OnnxGraphBuilder();
  const reference = new TorchLayoutInception(b, tensors);
  const input = b.input({
    name: 'images',
    shape: [batch, 3, HEIGHT, WIDTH],
    doc: 'NCHW RGB [0, 1]',
  });
  b.output(reference.forward(input, batch), { name: 'pool3', shape: [batch, 2048], doc: '' });
  return {
    model: b.model({ graphName: 'fid_inception', doc: '', metadata: {}, producerVersion: 'test' }),
    used: reference.used,
  };
}

// ---------------------------------------------------------------------------------------------

test('the tensor table: 94 BasicConv2d, torchvision’s parameter count, exactly what the PyTorch-code transcription reads', () => {
  const table = expectedFidTensors();
  const names = Object.keys(table);
  expect(names).toHaveLength(94 * 5);
  expect(table['Conv2d_1a_3x3.conv.weight']).toEqual([32, 3, 3, 3]);
  expect(table['Mixed_6b.branch7x7_2.conv.weight']).toEqual([128, 128, 1, 7]);
  expect(table['Mixed_7c.branch3x3dbl_3b.conv.weight']).toEqual([384, 384, 3, 1]);
  expect(table['Mixed_7c.branch_pool.bn.running_var']).toEqual([192]);
  // torchvision lists Inception v3 at 27,161,264 parameters (conv weights, BatchNorm weight and
  // bias, AuxLogits, fc of 1000): less AuxLogits (3,326,696) and fc (2,049,000).
  const parameters = names
    .filter((n) => !n.includes('running_'))
    .reduce((sum, n) => sum + table[n]!.reduce((a, b) => a * b, 1), 0);
  expect(parameters).toBe(27_161_264 - 3_326_696 - 2_049_000);
  expect([...referenceModel(weights, 1).used].sort()).toEqual([...names].sort());
});

test('loads .pth (with fc and num_batches_tracked) and .safetensors alike: [b, 2048] finite, non-negative features; a batch equals its singles', async () => {
  const fromPth = await loadFidInception(pthFile);
  const fromSafetensors = await loadFidInception(safetensorsFile);
  const input = images();
  const batch = await featuresOf(fromSafetensors, input);
  expect(batch).toHaveLength(3 * FID_FEATURES);
  expect(batch.every(Number.isFinite)).toBe(true);
  expect(Math.min(...batch)).toBeGreaterThanOrEqual(0); // an average of ReLU outputs
  expect(batch.filter((v) => v > 0).length).toBeGreaterThan(FID_FEATURES); // not dead
  for (let i = 0; i < 3; i++) {
    const one = tf.slice(input, [i, 0, 0, 0], [1, -1, -1, -1]);
    const single = await featuresOf(fromSafetensors, one);
    const rows = batch.subarray(i * FID_FEATURES, (i + 1) * FID_FEATURES);
    expect(relativeError(single, rows)).toBeLessThan(1e-5);
    if (i === 0) expect(await featuresOf(fromPth, one)).toEqual(single);
    one.dispose();
  }
  // Different images, different features.
  expect(
    relativeError(batch.subarray(0, FID_FEATURES), batch.subarray(FID_FEATURES, 2 * FID_FEATURES)),
  ).toBeGreaterThan(1e-3);
  input.dispose();
  fromPth.dispose();
  fromSafetensors.dispose();
});

test('agrees with the PyTorch-layout ONNX formulation (NCHW, BatchNorm unfolded) in onnxruntime to 1e-5', async () => {
  const net = fidInceptionFromTensors(weights, 'random');
  const input = images();
  const ours = await featuresOf(net, input);
  const { model } = referenceModel(weights, 3);
  const { pool3 } = await runOnnx(model, { images: [nchwValues(input), [3, 3, HEIGHT, WIDTH]] });
  expect(relativeError(ours, pool3!)).toBeLessThan(1e-5); // 1.2e-6 seen
  input.dispose();
  net.dispose();
});

test('no tensor is kept across calls, and dispose frees the weights', async () => {
  const before = tf.memory().numTensors;
  const net = fidInceptionFromTensors(weights, 'random');
  expect(tf.memory().numTensors).toBe(before + 94 * 2); // a folded filter and a bias per conv
  const input = tf.zeros([1, 40, 40, 3]) as tf.Tensor4D;
  await featuresOf(net, input);
  const after1 = tf.memory().numTensors;
  await featuresOf(net, input);
  expect(tf.memory().numTensors).toBe(after1);
  input.dispose();
  net.dispose();
  expect(tf.memory().numTensors).toBe(before);
});

/** F.interpolate(mode='bilinear', align_corners=False) for one NHWC image, as ATen computes it. */
function torchBilinear(
  src: Float32Array,
  h: number,
  w: number,
  outH: number,
  outW: number,
): Float32Array {
  const source = (o: number, inSize: number, outSize: number): [number, number, number] => {
    const real = Math.max(((o + 0.5) * inSize) / outSize - 0.5, 0);
    const i0 = Math.floor(real);
    return [i0, i0 < inSize - 1 ? i0 + 1 : i0, real - i0];
  };
  const out = new Float32Array(outH * outW * 3);
  for (let oy = 0; oy < outH; oy++) {
    const [y0, y1, ly] = source(oy, h, outH);
    for (let ox = 0; ox < outW; ox++) {
      const [x0, x1, lx] = source(ox, w, outW);
      for (let c = 0; c < 3; c++) {
        const at = (y: number, x: number) => src[(y * w + x) * 3 + c]!;
        out[(oy * outW + ox) * 3 + c] =
          (1 - ly) * ((1 - lx) * at(y0, x0) + lx * at(y0, x1)) +
          ly * ((1 - lx) * at(y1, x0) + lx * at(y1, x1));
      }
    }
  }
  return out;
}

test('the input: bilinear resize as F.interpolate(align_corners=False), up or down, then 2x − 1', () => {
  for (const [h, w] of [
    [5, 7],
    [400, 320],
  ] as const) {
    const values = seededValues(h * w * 3, h).map((v) => (v + 1) / 2);
    const input = tf.tensor4d(values, [1, h, w, 3]);
    const got = fidInput(input);
    expect(got.shape).toEqual([1, 299, 299, 3]);
    const want = torchBilinear(values, h, w, 299, 299).map((v) => 2 * v - 1);
    // ATen and the tfjs kernels place samples in float32: at 400 px a position is off by up
    // to ~3e-5 px (and each differs from this float64 reference by about that), far below
    // one 8-bit level (0.008 here).
    expect(relativeError(got.dataSync(), want)).toBeLessThan(2e-4);
    tf.dispose([input, got]);
  }
});

test("tfjs's 'same' average pool leaves the padding out of the mean (count_include_pad=False)", () => {
  const pooled = tf.avgPool(tf.ones([1, 4, 4, 1]) as tf.Tensor4D, 3, 1, 'same');
  expect(Array.from(pooled.dataSync()).every((v) => Math.abs(v - 1) < 1e-6)).toBe(true);
  pooled.dispose();
});

test('a missing or mis-shaped tensor is a one-line UserError naming the file and the tensor', () => {
  const file = '/data/pt_inception.pth';
  const missing = { ...weights };
  delete missing['Mixed_6c.branch7x7dbl_3.bn.running_mean'];
  const before = tf.memory().numTensors;
  expect(() => fidInceptionFromTensors(missing, file)).toThrow(UserError);
  expect(() => fidInceptionFromTensors(missing, file)).toThrow(
    /^\/data\/pt_inception\.pth: missing tensor 'Mixed_6c\.branch7x7dbl_3\.bn\.running_mean' \(FID Inception Mixed_6c\); is this pytorch-fid's pt_inception-2015-12-05 weights file\?$/,
  );
  const wrong = {
    ...weights,
    'Mixed_6b.branch7x7_2.conv.weight': {
      dtype: 'F32' as const,
      shape: [128, 128, 7, 1],
      data: new Float32Array(128 * 128 * 7),
    },
  };
  expect(() => fidInceptionFromTensors(wrong, file)).toThrow(
    /^\/data\/pt_inception\.pth: tensor 'Mixed_6b\.branch7x7_2\.conv\.weight' has shape \[128,128,7,1\], the FID Inception needs \[128,128,1,7\]$/,
  );
  expect(tf.memory().numTensors).toBe(before); // nothing made before the check
});

test("torchvision's ImageNet Inception weights are refused: FID needs pytorch-fid's", () => {
  const fc = (classes: number): RawTensor => ({
    dtype: 'F32',
    shape: [classes, 2048],
    data: new Float32Array(classes * 2048),
  });
  expect(() => fidInceptionFromTensors({ ...weights, 'fc.weight': fc(1000) }, 'g.pth')).toThrow(
    /^g\.pth: this looks like torchvision's ImageNet Inception v3 \(fc has 1000 classes\), not pytorch-fid's FID Inception/,
  );
  const aux = { ...weights, 'AuxLogits.conv0.conv.weight': fc(1) };
  expect(() => fidInceptionFromTensors(aux, 'g.pth')).toThrow(/it has AuxLogits/);
  const net = fidInceptionFromTensors({ ...weights, 'fc.weight': fc(1008) }, 'fid.pth');
  net.dispose();
});

test('files that are not the FID weights: one-line UserErrors naming the file', async () => {
  const other = path.join(dir, 'other.safetensors');
  await writeSafetensorsFile(other, {
    'features.0.weight': { dtype: 'F32', shape: [1], data: new Float32Array(1) },
  });
  await expect(loadFidInception(other)).rejects.toThrow(
    new RegExp(`^${other.replace(/[.]/g, '\\.')}: missing tensor 'Conv2d_1a_3x3\\.conv\\.weight'`),
  );
  const text = path.join(dir, 'notes.txt');
  fs.writeFileSync(text, 'not weights at all\n');
  const err = await loadFidInception(text).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(UserError);
  expect((err as Error).message).toContain(text);
  expect((err as Error).message).not.toContain('\n');
  await expect(loadFidInception(path.join(dir, 'absent.pth'))).rejects.toThrow(/no such file/);
});
