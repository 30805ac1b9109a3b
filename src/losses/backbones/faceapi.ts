import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../../errors';
import { FACE_API_PACKAGE as PACKAGE, faceApiModelDir } from '../../faceApiPackage';
import type { FeatureBackbone } from './backbone';

/**
 * The face recognition network bundled with @vladmandic/face-api (a port of dlib's ResNet-34-like
 * face descriptor net), re-implemented here so that it is differentiable with respect to its
 * input and exposes its intermediate activations. Its forward pass follows face-api's
 * src/faceRecognitionNet/*.ts exactly; only the per-channel scale layers are folded into the
 * preceding conv's filters and bias at load time (same function, two fewer ops per conv).
 */

const MODEL_NAME = 'face_recognition_model';
/** The net's input resolution. */
export const FACEAPI_INPUT_SIZE = 150;
/** face-api subtracts this RGB mean from 0-255 pixels, then divides by 255. */
const MEAN_RGB = [122.782, 117.001, 104.298] as const;

type BlockKind = 'stem' | 'residual' | 'residualDown';

interface BlockSpec {
  name: string;
  kind: BlockKind;
  inChannels: number;
  outChannels: number;
}

const block = (
  name: string,
  kind: BlockKind,
  inChannels: number,
  outChannels = inChannels,
): BlockSpec => ({
  name,
  kind,
  inChannels,
  outChannels,
});

/** The blocks in forward order, with their channels. */
const BLOCKS: readonly BlockSpec[] = [
  block('conv32_down', 'stem', 3, 32),
  block('conv32_1', 'residual', 32),
  block('conv32_2', 'residual', 32),
  block('conv32_3', 'residual', 32),
  block('conv64_down', 'residualDown', 32, 64),
  block('conv64_1', 'residual', 64),
  block('conv64_2', 'residual', 64),
  block('conv64_3', 'residual', 64),
  block('conv128_down', 'residualDown', 64, 128),
  block('conv128_1', 'residual', 128),
  block('conv128_2', 'residual', 128),
  block('conv256_down', 'residualDown', 128, 256),
  block('conv256_1', 'residual', 256),
  block('conv256_2', 'residual', 256),
  block('conv256_down_out', 'residualDown', 256),
];

const DESCRIPTOR = 'descriptor';
const DESCRIPTOR_SIZE = 128;

/**
 * Layer names in forward order. Activation shapes for any input size (it is resized to 150):
 * conv32_down [b,72,72,32] (after its ReLU, before the max pool); conv32_1..3 [b,35,35,32];
 * conv64_* [b,17,17,64]; conv128_* [b,8,8,128]; conv256_down, conv256_1..2 [b,4,4,256];
 * conv256_down_out [b,2,2,256]; descriptor [b,1,1,128] (not L2-normalised, as in face-api).
 */
export const FACEAPI_LAYERS: readonly string[] = [...BLOCKS.map((b) => b.name), DESCRIPTOR];

/** A conv with its scale layer folded in: y = conv(x, filters) + bias. */
type ConvParams = {
  /** 2 (with 'valid' padding) for face-api's down-sampling convs, else 1 (with 'same'). */
  stride: 1 | 2;
  filters: tf.Tensor4D;
  bias: tf.Tensor1D;
  /** The filters rearranged so that dx is one stride-1 conv of dy (see backwardFilters). */
  backFilters: tf.Tensor4D;
};

// Type aliases rather than interfaces, so that they count as tf.TensorContainers (tidy, dispose).
type BlockParams = {
  conv1: ConvParams;
  /** Absent for the stem, which is a single conv. */
  conv2?: ConvParams;
};

type NetParams = {
  blocks: BlockParams[];
  /** [256, 128]. */
  fc: tf.Tensor2D;
};

// ---------------------------------------------------------------------------------------------
// Loading

interface WeightFiles {
  manifestPath: string;
  manifest: tf.io.WeightsManifestConfig;
  /** The manifest's .bin files, concatenated in manifest order. */
  data: ArrayBuffer;
}

function readManifest(manifestPath: string, text: string): tf.io.WeightsManifestConfig {
  try {
    const manifest = JSON.parse(text) as tf.io.WeightsManifestConfig;
    if (!Array.isArray(manifest)) throw new Error('not a list of weight groups');
    return manifest;
  } catch (err) {
    throw new UserError(`${manifestPath} is not a tfjs weights manifest: ${firstLine(err)}`);
  }
}

function readFileOrFail(file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new UserError(
      `cannot read face-api weights ${file} (${firstLine(err)}); reinstall ${PACKAGE}`,
    );
  }
}

function concatBuffers(buffers: readonly Buffer[]): ArrayBuffer {
  const all = Buffer.concat(buffers);
  return all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
}

function readWeightFiles(modelDir: string): WeightFiles {
  const manifestPath = path.join(modelDir, `${MODEL_NAME}-weights_manifest.json`);
  const manifest = readManifest(manifestPath, readFileOrFail(manifestPath).toString('utf8'));
  const bins = manifest.flatMap((group) => group.paths.map((p) => path.join(modelDir, p)));
  return { manifestPath, manifest, data: concatBuffers(bins.map(readFileOrFail)) };
}

const BYTES_PER_VALUE: Record<string, number> = { uint8: 1, uint16: 2, float16: 2 };

/** Bytes the manifest's weights occupy in the .bin files (quantised ones are smaller). */
function expectedByteLength(specs: readonly tf.io.WeightsManifestEntry[]): number {
  return specs.reduce((total, spec) => {
    const count = spec.shape.reduce((a, b) => a * b, 1);
    const quantised = spec.quantization?.dtype;
    return total + count * (quantised ? BYTES_PER_VALUE[quantised]! : 4);
  }, 0);
}

/** Plain tensors (never variables): the backbone is frozen. */
function decodeWeightMap(files: WeightFiles): tf.NamedTensorMap {
  const specs = files.manifest.flatMap((group) => group.weights);
  const expected = expectedByteLength(specs);
  if (files.data.byteLength !== expected) {
    throw new UserError(
      `face-api weights next to ${files.manifestPath} hold ${files.data.byteLength} bytes, ` +
        `the manifest describes ${expected}; reinstall ${PACKAGE}`,
    );
  }
  try {
    return tf.io.decodeWeights(files.data, specs);
  } catch (err) {
    throw new UserError(`cannot decode ${files.manifestPath}: ${firstLine(err)}`);
  }
}

function takeWeight(map: tf.NamedTensorMap, name: string, shape: readonly number[]): tf.Tensor {
  const t = map[name];
  if (!t) throw new UserError(`face-api recognition weights lack '${name}'; reinstall ${PACKAGE}`);
  if (t.shape.join(',') !== shape.join(',')) {
    throw new UserError(
      `face-api weight '${name}' has shape [${t.shape}], expected [${shape}]; reinstall ${PACKAGE}`,
    );
  }
  return t;
}

/**
 * Filters for the input gradient of a conv, as one stride-1 conv of dy. Stride 1: the filters
 * flipped spatially, in/out channels swapped. Stride 2: the polyphase form, so that no inserted
 * zeros are convolved: dx[2p+a, 2q+c] = sum_{t,u} dy[p-t, q-u] W[2t+a, 2u+c], one group of output
 * channels per phase (a, c) in depthToSpace order, ceil(k/2) taps a side, missing taps zero.
 * In plain JS: wasm's Reverse and 6-D Transpose are slow on filters, and the whole net has many.
 */
function backwardFilters(filters: tf.Tensor4D, stride: 1 | 2): tf.Tensor4D {
  const [k, , inC, outC] = filters.shape;
  const w = filters.dataSync();
  const taps = Math.ceil(k / stride);
  const out = new Float32Array(taps * taps * outC * stride * stride * inC);
  let n = 0;
  for (let t = 0; t < taps; t++) {
    for (let u = 0; u < taps; u++) {
      for (let o = 0; o < outC; o++) {
        for (let a = 0; a < stride; a++) {
          for (let c = 0; c < stride; c++) {
            // Tap t of the gradient conv meets dy[p - (taps - 1 - t)], i.e. filter row kh.
            const kh = stride * (taps - 1 - t) + a;
            const kw = stride * (taps - 1 - u) + c;
            const inside = kh < k && kw < k;
            const base = (kh * k + kw) * inC * outC + o;
            for (let i = 0; i < inC; i++) out[n++] = inside ? w[base + i * outC]! : 0;
          }
        }
      }
    }
  }
  return tf.tensor4d(out, [taps, taps, outC, stride * stride * inC]);
}

/** Folds `prefix/scale` (y * weights + biases) into `prefix/conv`. */
function foldConv(
  map: tf.NamedTensorMap,
  prefix: string,
  kernel: number,
  [inChannels, outChannels]: readonly [number, number],
  stride: 1 | 2,
): ConvParams {
  const filters = takeWeight(map, `${prefix}/conv/filters`, [
    kernel,
    kernel,
    inChannels,
    outChannels,
  ]);
  const bias = takeWeight(map, `${prefix}/conv/bias`, [outChannels]);
  const scale = takeWeight(map, `${prefix}/scale/weights`, [outChannels]);
  const shift = takeWeight(map, `${prefix}/scale/biases`, [outChannels]);
  return tf.tidy(() => {
    const folded = tf.mul<tf.Tensor4D>(filters, scale);
    return {
      stride,
      filters: folded,
      bias: tf.add<tf.Tensor1D>(tf.mul(bias, scale), shift),
      backFilters: backwardFilters(folded, stride),
    };
  });
}

function blockParams(map: tf.NamedTensorMap, spec: BlockSpec): BlockParams {
  const { name, kind, inChannels, outChannels } = spec;
  if (kind === 'stem') return { conv1: foldConv(map, name, 7, [inChannels, outChannels], 2) };
  const stride = kind === 'residualDown' ? 2 : 1;
  return {
    conv1: foldConv(map, `${name}/conv1`, 3, [inChannels, outChannels], stride),
    conv2: foldConv(map, `${name}/conv2`, 3, [outChannels, outChannels], 1),
  };
}

function netParams(map: tf.NamedTensorMap): NetParams {
  const blocks = BLOCKS.map((spec) => blockParams(map, spec));
  const fc = tf.clone(takeWeight(map, 'fc', [256, DESCRIPTOR_SIZE])) as tf.Tensor2D;
  return { blocks, fc };
}

// ---------------------------------------------------------------------------------------------
// Forward pass (face-api's convLayer.ts / residualLayer.ts)

/**
 * The input gradient of conv(x, p.filters) for x of shape inShape, as one stride-1 conv of dy
 * with the precomputed backFilters. Generic autodiff would rearrange the frozen filters on every
 * backward pass (costlier than the conv on wasm) and convolve zero-upsampled dy for stride 2.
 */
function convInputGrad(dy: tf.Tensor4D, p: ConvParams, inShape: readonly number[]): tf.Tensor4D {
  // Stride 1 'same' with an odd kernel: the gradient is again a 'same' conv.
  if (p.stride === 1) return tf.conv2d(dy, p.backFilters, 1, 'same');
  // Stride 2: rows p = 0..ceil(h/2)-1 of each phase need dy[p - taps + 1 .. p], zero outside.
  const [batch, oh, ow] = dy.shape;
  const [, h, w, inC] = inShape as [number, number, number, number];
  const taps = p.backFilters.shape[0];
  const [halfH, halfW] = [Math.ceil(h / 2), Math.ceil(w / 2)];
  const phases = tf.conv2d(dy, p.backFilters, 1, [
    [0, 0],
    [taps - 1, halfH - oh],
    [taps - 1, halfW - ow],
    [0, 0],
  ]);
  const dx = tf.depthToSpace(phases, 2);
  return 2 * halfH === h && 2 * halfW === w ? dx : tf.slice(dx, 0, [batch, h, w, inC]);
}

/** A conv whose autodiff gives x a gradient and the frozen filters none. */
function frozenConv(x: tf.Tensor4D, p: ConvParams): tf.Tensor4D {
  const run = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: tf.conv2d(
      args[0] as tf.Tensor4D,
      p.filters,
      p.stride,
      p.stride === 2 ? 'valid' : 'same',
    ),
    gradFunc: (dy: tf.Tensor) => convInputGrad(dy as tf.Tensor4D, p, x.shape),
  }));
  return run(x) as tf.Tensor4D;
}

function conv(x: tf.Tensor4D, p: ConvParams, relu: boolean): tf.Tensor4D {
  const y = tf.add<tf.Tensor4D>(frozenConv(x, p), p.bias);
  return relu ? tf.relu(y) : y;
}

function residual(x: tf.Tensor4D, p: BlockParams): tf.Tensor4D {
  const out = conv(conv(x, p.conv1, true), p.conv2!, false);
  return tf.relu(tf.add<tf.Tensor4D>(out, x));
}

function residualDown(x: tf.Tensor4D, p: BlockParams): tf.Tensor4D {
  let out = conv(conv(x, p.conv1, true), p.conv2!, false);
  const skip = tf.avgPool(x, 2, 2, 'valid');
  // The strided 'valid' conv can come out one smaller than the pooled skip (8 -> 3 vs 4,
  // 4 -> 1 vs 2): face-api pads it with zeros at the bottom and right.
  const [, skipH, skipW, skipC] = skip.shape;
  const [, outH, outW, outC] = out.shape;
  if (outH !== skipH || outW !== skipW) {
    out = tf.pad(out, [
      [0, 0],
      [0, skipH - outH],
      [0, skipW - outW],
      [0, 0],
    ]);
  }
  // More output channels than input: the skip gets zero channels appended.
  const paddedSkip =
    outC === skipC
      ? skip
      : tf.pad(skip, [
          [0, 0],
          [0, 0],
          [0, 0],
          [0, outC - skipC],
        ]);
  return tf.relu(tf.add<tf.Tensor4D>(paddedSkip, out));
}

function runBlock(x: tf.Tensor4D, spec: BlockSpec, p: BlockParams): tf.Tensor4D {
  switch (spec.kind) {
    case 'stem':
      return conv(x, p.conv1, true);
    case 'residual':
      return residual(x, p);
    case 'residualDown':
      return residualDown(x, p);
  }
}

/**
 * RGB in [0, 1] at any size -> face-api's normalised 150 x 150 input. The resize is face-api's
 * own for tensors (no half-pixel centres). It must stay so: tfjs's ResizeBilinearGrad (cpu,
 * wasm) ignores halfPixelCenters, so with it the input gradient would be wrong.
 */
function normalise(images: tf.Tensor4D, mean: tf.Tensor1D): tf.Tensor4D {
  const [, h, w] = images.shape;
  const sized =
    h === FACEAPI_INPUT_SIZE && w === FACEAPI_INPUT_SIZE
      ? images
      : tf.image.resizeBilinear(images, [FACEAPI_INPUT_SIZE, FACEAPI_INPUT_SIZE], false, false);
  // (255 x - mean) / 255 == x - mean / 255.
  return tf.sub(sized, mean);
}

function descriptor(x: tf.Tensor4D, fc: tf.Tensor2D): tf.Tensor4D {
  const pooled = tf.mean(x, [1, 2]) as tf.Tensor2D;
  return tf.reshape(tf.matMul(pooled, fc), [x.shape[0], 1, 1, DESCRIPTOR_SIZE]);
}

// ---------------------------------------------------------------------------------------------
// The backbone

function checkInput(images: tf.Tensor4D): void {
  const [, h, w, c] = images.shape;
  if (images.rank !== 4 || c !== 3 || h !== w) {
    throw new Error(
      `faceapi backbone: expected square RGB images [b,s,s,3], got [${images.shape}]`,
    );
  }
}

function deepestIndex(layers: readonly string[]): number {
  let deepest = -1;
  for (const name of layers) {
    const index = FACEAPI_LAYERS.indexOf(name);
    if (index < 0) {
      throw new Error(`faceapi backbone has no layer '${name}' (has ${FACEAPI_LAYERS.join(', ')})`);
    }
    deepest = Math.max(deepest, index);
  }
  return deepest;
}

class FaceApiBackbone implements FeatureBackbone {
  readonly name = 'faceapi';
  readonly layerNames = FACEAPI_LAYERS;
  private params: NetParams | null;
  private readonly mean = tf.tensor1d(MEAN_RGB.map((m) => m / 255));

  constructor(params: NetParams) {
    this.params = params;
  }

  features(images: tf.Tensor4D, layers: readonly string[]): tf.Tensor4D[] {
    const params = this.params;
    if (!params) throw new Error('faceapi backbone used after dispose()');
    checkInput(images);
    const deepest = deepestIndex(layers);
    if (deepest < 0) return [];
    return tf.tidy(() => {
      const acts = new Map<string, tf.Tensor4D>();
      let x = normalise(images, this.mean);
      // Run only as deep as the deepest requested layer.
      for (let i = 0; i <= deepest && i < BLOCKS.length; i++) {
        // face-api max-pools the stem's output (72 -> 35) before the first residual block.
        if (i === 1) x = tf.maxPool(x, 3, 2, 'valid');
        x = runBlock(x, BLOCKS[i]!, params.blocks[i]!);
        acts.set(BLOCKS[i]!.name, x);
      }
      if (deepest === BLOCKS.length) acts.set(DESCRIPTOR, descriptor(x, params.fc));
      return layers.map((name) => acts.get(name)!);
    });
  }

  dispose(): void {
    if (!this.params) return;
    tf.dispose([this.params, this.mean]);
    this.params = null;
  }
}

function buildBackbone(files: WeightFiles): FeatureBackbone {
  const map = decodeWeightMap(files);
  try {
    // tidy frees the folded tensors made so far if a weight turns out missing.
    return new FaceApiBackbone(tf.tidy(() => netParams(map)));
  } finally {
    // The folded copies are what the backbone keeps; the decoded originals are dropped.
    tf.dispose(Object.values(map));
  }
}

/**
 * The face-api recognition net as a frozen content-loss backbone, weights read from
 * `modelDir` (default: the installed @vladmandic/face-api's model/ folder).
 */
export function loadFaceApiBackboneSync(modelDir: string = faceApiModelDir()): FeatureBackbone {
  return buildBackbone(readWeightFiles(modelDir));
}

/** As loadFaceApiBackboneSync; async for symmetry with backbones that load from elsewhere. */
export async function loadFaceApiBackbone(modelDir?: string): Promise<FeatureBackbone> {
  return loadFaceApiBackboneSync(modelDir);
}

function firstLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0]!.trim();
}
