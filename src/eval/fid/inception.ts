/**
 * The Inception v3 that FID is defined with: pytorch-fid's FIDInceptionV3 (a port of the 2015
 * TensorFlow graph that the original FID code used) up to its pool3 features. Its weights are
 * the user's own copy of pytorch-fid's pt_inception-2015-12-05-6726825d.pth, or the same tensors
 * as .safetensors; nothing is downloaded.
 *
 * The network is torchvision's Inception3 with pytorch-fid's patches, which make it compute what
 * the TensorFlow graph did:
 * - the average pools of Mixed_5b-d, 6b-e and 7b leave the zero padding out of the mean
 *   (count_include_pad=False), as TensorFlow's (and tfjs's) 'same' average pooling does;
 * - Mixed_7c's pool branch is a 3x3 max pool, stride 1, not an average pool.
 * Every conv is torchvision's BasicConv2d: conv without bias, BatchNorm (eps 0.001), ReLU. The
 * BatchNorm is folded into the conv's filters and bias at load time. Tensors here are NHWC.
 */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../../errors';
import { printable } from '../../oneLine';
import { toFloat32, type RawTensor } from '../../formats/safetensors';
import { sameShape } from '../../formats/shape';
import { readWeightsFile } from '../../formats/weightsFile';

/** Length of the pool3 feature vector FID is computed on. */
export const FID_FEATURES = 2048;
/** pytorch-fid resizes every image to this square before the network. */
export const FID_INPUT_SIZE = 299;
/** torchvision's BasicConv2d: BatchNorm2d(eps=0.001). */
const BATCH_NORM_EPS = 0.001;
/** pytorch-fid's fc (1008 classes, as the TensorFlow graph), which the features skip. */
const FID_CLASSES = 1008;

export interface FidInception {
  /**
   * pool3 features [b, 2048] of images [b, h, w, 3], RGB in [0, 1], any size (resized to 299 x
   * 299 as pytorch-fid does). Runs inside its own tf.tidy; the caller owns the result.
   */
  features(images: tf.Tensor4D): tf.Tensor2D;
  dispose(): void;
}

interface ConvSpec {
  inChannels: number;
  outChannels: number;
  kernel: [number, number];
  stride: number;
  /** PyTorch's padding: rows above and below, columns left and right. */
  padding: [number, number];
}

function conv(
  inChannels: number,
  outChannels: number,
  kernel: number | [number, number],
  options: { stride?: number; padding?: number | [number, number] } = {},
): ConvSpec {
  const pair = (v: number | [number, number]): [number, number] =>
    typeof v === 'number' ? [v, v] : v;
  const spec: ConvSpec = {
    inChannels,
    outChannels,
    kernel: pair(kernel),
    stride: options.stride ?? 1,
    padding: pair(options.padding ?? 0),
  };
  if (tfjsPadding(spec) === null) throw new Error(`no tfjs padding for ${JSON.stringify(spec)}`);
  return spec;
}

/**
 * Inception pads only stride-1 convs, by (k − 1) / 2 each side: tfjs's 'same', which every
 * backend has (explicit padding is not everywhere); the other convs are unpadded, 'valid'.
 */
function tfjsPadding(spec: ConvSpec): 'same' | 'valid' | null {
  const [ph, pw] = spec.padding;
  const [kh, kw] = spec.kernel;
  if (ph === 0 && pw === 0) return 'valid';
  return spec.stride === 1 && 2 * ph === kh - 1 && 2 * pw === kw - 1 ? 'same' : null;
}

// The convs of each torchvision block, by the names its state dict uses.

function inceptionA(inChannels: number, poolFeatures: number): Record<string, ConvSpec> {
  return {
    branch1x1: conv(inChannels, 64, 1),
    branch5x5_1: conv(inChannels, 48, 1),
    branch5x5_2: conv(48, 64, 5, { padding: 2 }),
    branch3x3dbl_1: conv(inChannels, 64, 1),
    branch3x3dbl_2: conv(64, 96, 3, { padding: 1 }),
    branch3x3dbl_3: conv(96, 96, 3, { padding: 1 }),
    branch_pool: conv(inChannels, poolFeatures, 1),
  };
}

function inceptionB(inChannels: number): Record<string, ConvSpec> {
  return {
    branch3x3: conv(inChannels, 384, 3, { stride: 2 }),
    branch3x3dbl_1: conv(inChannels, 64, 1),
    branch3x3dbl_2: conv(64, 96, 3, { padding: 1 }),
    branch3x3dbl_3: conv(96, 96, 3, { stride: 2 }),
  };
}

function inceptionC(inChannels: number, c7: number): Record<string, ConvSpec> {
  return {
    branch1x1: conv(inChannels, 192, 1),
    branch7x7_1: conv(inChannels, c7, 1),
    branch7x7_2: conv(c7, c7, [1, 7], { padding: [0, 3] }),
    branch7x7_3: conv(c7, 192, [7, 1], { padding: [3, 0] }),
    branch7x7dbl_1: conv(inChannels, c7, 1),
    branch7x7dbl_2: conv(c7, c7, [7, 1], { padding: [3, 0] }),
    branch7x7dbl_3: conv(c7, c7, [1, 7], { padding: [0, 3] }),
    branch7x7dbl_4: conv(c7, c7, [7, 1], { padding: [3, 0] }),
    branch7x7dbl_5: conv(c7, 192, [1, 7], { padding: [0, 3] }),
    branch_pool: conv(inChannels, 192, 1),
  };
}

function inceptionD(inChannels: number): Record<string, ConvSpec> {
  return {
    branch3x3_1: conv(inChannels, 192, 1),
    branch3x3_2: conv(192, 320, 3, { stride: 2 }),
    branch7x7x3_1: conv(inChannels, 192, 1),
    branch7x7x3_2: conv(192, 192, [1, 7], { padding: [0, 3] }),
    branch7x7x3_3: conv(192, 192, [7, 1], { padding: [3, 0] }),
    branch7x7x3_4: conv(192, 192, 3, { stride: 2 }),
  };
}

function inceptionE(inChannels: number): Record<string, ConvSpec> {
  return {
    branch1x1: conv(inChannels, 320, 1),
    branch3x3_1: conv(inChannels, 384, 1),
    branch3x3_2a: conv(384, 384, [1, 3], { padding: [0, 1] }),
    branch3x3_2b: conv(384, 384, [3, 1], { padding: [1, 0] }),
    branch3x3dbl_1: conv(inChannels, 448, 1),
    branch3x3dbl_2: conv(448, 384, 3, { padding: 1 }),
    branch3x3dbl_3a: conv(384, 384, [1, 3], { padding: [0, 1] }),
    branch3x3dbl_3b: conv(384, 384, [3, 1], { padding: [1, 0] }),
    branch_pool: conv(inChannels, 192, 1),
  };
}

/** Applies the BasicConv2d `name` of the current block. */
type ApplyConv = (name: string, x: tf.Tensor4D) => tf.Tensor4D;

type BlockKind = 'A' | 'B' | 'C' | 'D' | 'E_1' | 'E_2';

interface Block {
  /** The state dict prefix: Mixed_5b, ... */
  name: string;
  kind: BlockKind;
  convs: Record<string, ConvSpec>;
}

/** The stem's convs, each a block of one conv named by its own prefix. */
const STEM: [string, ConvSpec][] = [
  ['Conv2d_1a_3x3', conv(3, 32, 3, { stride: 2 })],
  ['Conv2d_2a_3x3', conv(32, 32, 3)],
  ['Conv2d_2b_3x3', conv(32, 64, 3, { padding: 1 })],
  ['Conv2d_3b_1x1', conv(64, 80, 1)],
  ['Conv2d_4a_3x3', conv(80, 192, 3)],
];

/** pytorch-fid's fid_inception_v3: torchvision's blocks with the FID* replacements. */
const MIXED: Block[] = [
  { name: 'Mixed_5b', kind: 'A', convs: inceptionA(192, 32) },
  { name: 'Mixed_5c', kind: 'A', convs: inceptionA(256, 64) },
  { name: 'Mixed_5d', kind: 'A', convs: inceptionA(288, 64) },
  { name: 'Mixed_6a', kind: 'B', convs: inceptionB(288) },
  { name: 'Mixed_6b', kind: 'C', convs: inceptionC(768, 128) },
  { name: 'Mixed_6c', kind: 'C', convs: inceptionC(768, 160) },
  { name: 'Mixed_6d', kind: 'C', convs: inceptionC(768, 160) },
  { name: 'Mixed_6e', kind: 'C', convs: inceptionC(768, 192) },
  { name: 'Mixed_7a', kind: 'D', convs: inceptionD(768) },
  { name: 'Mixed_7b', kind: 'E_1', convs: inceptionE(1280) },
  { name: 'Mixed_7c', kind: 'E_2', convs: inceptionE(2048) },
];

/** Every BasicConv2d by its state dict prefix ('Mixed_5b.branch1x1'), in network order. */
function allConvs(): [string, ConvSpec][] {
  return [
    ...STEM,
    ...MIXED.flatMap((b) =>
      Object.entries(b.convs).map(([name, spec]): [string, ConvSpec] => [
        `${b.name}.${name}`,
        spec,
      ]),
    ),
  ];
}

/**
 * The tensors the network uses, with their PyTorch shapes: per BasicConv2d `conv.weight`
 * (OIHW) and `bn.{weight,bias,running_mean,running_var}`. pytorch-fid's file also holds
 * `fc.weight` [1008, 2048] and `fc.bias` [1008] (and, from newer PyTorch, `num_batches_tracked`),
 * which the features do not use.
 */
export function expectedFidTensors(): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [prefix, c] of allConvs()) {
    out[`${prefix}.conv.weight`] = [c.outChannels, c.inChannels, ...c.kernel];
    for (const bn of ['weight', 'bias', 'running_mean', 'running_var'])
      out[`${prefix}.bn.${bn}`] = [c.outChannels];
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Forward pass

/** pytorch-fid's input transform: bilinear resize to 299 (align_corners=False), then 2x − 1. */
export function fidInput(images: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    // F.interpolate(mode='bilinear', align_corners=False) samples at (i + 0.5)·scale − 0.5,
    // clamped to the image: TensorFlow's half-pixel centres.
    const resized = tf.image.resizeBilinear(images, [FID_INPUT_SIZE, FID_INPUT_SIZE], false, true);
    return tf.sub(tf.mul(resized, 2), 1);
  });
}

/** 3x3 stride-2 max pool without padding (the stem, Mixed_6a and 7a). */
function maxPoolDown(x: tf.Tensor4D): tf.Tensor4D {
  return tf.maxPool(x, 3, 2, 'valid');
}

/** F.avg_pool2d(3, stride 1, padding 1, count_include_pad=False): tfjs's 'same' average pool. */
function averagePool3x3(x: tf.Tensor4D): tf.Tensor4D {
  return tf.avgPool(x, 3, 1, 'same');
}

/** F.max_pool2d(3, stride 1, padding 1): the padding never wins a max, as 'same' in tfjs. */
function maxPool3x3(x: tf.Tensor4D): tf.Tensor4D {
  return tf.maxPool(x, 3, 1, 'same');
}

const cat = (parts: tf.Tensor4D[]): tf.Tensor4D => tf.concat(parts, 3);

/** The forward of each block kind, branches concatenated in torchvision's order. */
const FORWARD: Record<BlockKind, (x: tf.Tensor4D, c: ApplyConv) => tf.Tensor4D> = {
  A: (x, c) =>
    cat([
      c('branch1x1', x),
      c('branch5x5_2', c('branch5x5_1', x)),
      c('branch3x3dbl_3', c('branch3x3dbl_2', c('branch3x3dbl_1', x))),
      c('branch_pool', averagePool3x3(x)),
    ]),
  B: (x, c) =>
    cat([
      c('branch3x3', x),
      c('branch3x3dbl_3', c('branch3x3dbl_2', c('branch3x3dbl_1', x))),
      maxPoolDown(x),
    ]),
  C: (x, c) =>
    cat([
      c('branch1x1', x),
      c('branch7x7_3', c('branch7x7_2', c('branch7x7_1', x))),
      c(
        'branch7x7dbl_5',
        c('branch7x7dbl_4', c('branch7x7dbl_3', c('branch7x7dbl_2', c('branch7x7dbl_1', x)))),
      ),
      c('branch_pool', averagePool3x3(x)),
    ]),
  D: (x, c) =>
    cat([
      c('branch3x3_2', c('branch3x3_1', x)),
      c('branch7x7x3_4', c('branch7x7x3_3', c('branch7x7x3_2', c('branch7x7x3_1', x)))),
      maxPoolDown(x),
    ]),
  E_1: (x, c) => inceptionEForward(x, c, averagePool3x3),
  E_2: (x, c) => inceptionEForward(x, c, maxPool3x3),
};

function inceptionEForward(
  x: tf.Tensor4D,
  c: ApplyConv,
  pool: (x: tf.Tensor4D) => tf.Tensor4D,
): tf.Tensor4D {
  const b3 = c('branch3x3_1', x);
  const b3dbl = c('branch3x3dbl_2', c('branch3x3dbl_1', x));
  return cat([
    c('branch1x1', x),
    cat([c('branch3x3_2a', b3), c('branch3x3_2b', b3)]),
    cat([c('branch3x3dbl_3a', b3dbl), c('branch3x3dbl_3b', b3dbl)]),
    c('branch_pool', pool(x)),
  ]);
}

/** A BasicConv2d with its BatchNorm folded in: relu(conv(x, filter) + bias). */
interface FoldedConv {
  spec: ConvSpec;
  /** [kh, kw, in, out]. */
  filter: tf.Tensor4D;
  bias: tf.Tensor1D;
}

function applyConv({ spec, filter, bias }: FoldedConv, x: tf.Tensor4D): tf.Tensor4D {
  const pad = tfjsPadding(spec)!;
  return tf.fused.conv2d({ x, filter, strides: spec.stride, pad, bias, activation: 'relu' });
}

class FidInceptionV3 implements FidInception {
  constructor(private readonly convs: Map<string, FoldedConv>) {}

  features(images: tf.Tensor4D): tf.Tensor2D {
    if (images.rank !== 4 || images.shape[3] !== 3)
      throw new Error(`FID Inception needs [batch, h, w, 3] RGB images, got [${images.shape}]`);
    return tf.tidy(() => {
      const at = (prefix: string) => (name: string, x: tf.Tensor4D) =>
        applyConv(this.convs.get(`${prefix}${name}`)!, x);
      const stem = at('');
      let h = fidInput(images);
      h = stem('Conv2d_2b_3x3', stem('Conv2d_2a_3x3', stem('Conv2d_1a_3x3', h)));
      h = maxPoolDown(h);
      h = maxPoolDown(stem('Conv2d_4a_3x3', stem('Conv2d_3b_1x1', h)));
      for (const block of MIXED) h = FORWARD[block.kind](h, at(`${block.name}.`));
      return tf.mean(h, [1, 2]) as tf.Tensor2D; // adaptive average pool to 1x1
    });
  }

  dispose(): void {
    for (const { filter, bias } of this.convs.values()) tf.dispose([filter, bias]);
    this.convs.clear();
  }
}

// ---------------------------------------------------------------------------------------------
// Loading

/**
 * Refuses torchvision's ImageNet Inception v3 (inception_v3_google), whose conv tensors have the
 * same names and shapes but other weights: FID from it would not be comparable with anyone's.
 */
function checkIsFidInception(tensors: Record<string, RawTensor>, source: string): void {
  const fc = tensors['fc.weight'];
  const aux = Object.keys(tensors).some((k) => k.startsWith('AuxLogits.'));
  if (aux || (fc != null && fc.shape[0] !== FID_CLASSES)) {
    throw new UserError(
      `${source}: this looks like torchvision's ImageNet Inception v3 (${aux ? 'it has AuxLogits' : `fc has ${fc!.shape[0]} classes`}), not pytorch-fid's FID Inception (pt_inception-2015-12-05-6726825d.pth, fc of ${FID_CLASSES} classes); FID needs the latter`,
    );
  }
}

/** A tensor's values as float32; F32 data is used as it is (toFloat32 would copy 24M values). */
function floatValues(raw: RawTensor): Float32Array {
  return raw.dtype === 'F32' ? (raw.data as Float32Array) : toFloat32(raw);
}

/** W·s per output channel, OIHW -> HWIO, with s = γ / sqrt(var + eps); bias β − mean·s. */
function foldBatchNorm(
  weight: Float32Array,
  spec: ConvSpec,
  bn: Record<'weight' | 'bias' | 'running_mean' | 'running_var', Float32Array>,
): { filter: Float32Array; bias: Float32Array } {
  const { inChannels: ci, outChannels: co } = spec;
  const [kh, kw] = spec.kernel;
  const filter = new Float32Array(weight.length);
  const bias = new Float32Array(co);
  for (let o = 0; o < co; o++) {
    const scale = bn.weight[o]! / Math.sqrt(bn.running_var[o]! + BATCH_NORM_EPS);
    bias[o] = bn.bias[o]! - bn.running_mean[o]! * scale;
    for (let i = 0; i < ci; i++)
      for (let y = 0; y < kh; y++)
        for (let x = 0; x < kw; x++)
          filter[((y * kw + x) * ci + i) * co + o] =
            weight[((o * ci + i) * kh + y) * kw + x]! * scale;
  }
  return { filter, bias };
}

/**
 * The FID Inception from a state dict's tensors (pytorch-fid's names). Every tensor
 * `expectedFidTensors()` lists must be there with its shape; others (fc, num_batches_tracked)
 * are ignored. `source` names the file in errors.
 */
export function fidInceptionFromTensors(
  tensors: Record<string, RawTensor>,
  source: string,
): FidInception {
  const where = printable(source);
  checkIsFidInception(tensors, where);
  const expected = expectedFidTensors();
  // Everything is checked before the first tensor is made, so a bad file leaks nothing.
  for (const [name, shape] of Object.entries(expected)) {
    const raw = tensors[name];
    if (raw == null)
      throw new UserError(
        `${where}: missing tensor '${name}' (FID Inception ${name.split('.')[0]}); is this pytorch-fid's pt_inception-2015-12-05 weights file?`,
      );
    if (!sameShape(raw.shape, shape))
      throw new UserError(
        `${where}: tensor '${name}' has shape [${raw.shape}], the FID Inception needs [${shape}]`,
      );
  }
  const convs = new Map<string, FoldedConv>();
  for (const [prefix, spec] of allConvs()) {
    const get = (suffix: string) => floatValues(tensors[`${prefix}.${suffix}`]!);
    const { filter, bias } = foldBatchNorm(get('conv.weight'), spec, {
      weight: get('bn.weight'),
      bias: get('bn.bias'),
      running_mean: get('bn.running_mean'),
      running_var: get('bn.running_var'),
    });
    const [kh, kw] = spec.kernel;
    convs.set(prefix, {
      spec,
      filter: tf.tensor4d(filter, [kh, kw, spec.inChannels, spec.outChannels]),
      bias: tf.tensor1d(bias),
    });
  }
  return new FidInceptionV3(convs);
}

/** Loads the FID Inception from a .pth (PyTorch zip or legacy) or .safetensors file. */
export async function loadFidInception(file: string): Promise<FidInception> {
  const { tensors } = await readWeightsFile(file);
  return fidInceptionFromTensors(tensors, file);
}
