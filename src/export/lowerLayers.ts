import * as tf from '@tensorflow/tfjs';
import { NORM_EPSILON } from '../models/layers/adain';
import { InstanceNorm } from '../models/layers/instanceNorm';
import type { ModuleLayer } from '../models/layers/moduleLayer';
import { ResBlock } from '../models/layers/resBlock';
import { ResBlockDown } from '../models/layers/resBlockDown';
import { ResBlockUp } from '../models/layers/resBlockUp';
import type { UpsamplingMode } from '../models/layers/resampling';
import { SelfAttention } from '../models/layers/selfAttention';
import type { SNConv2D } from '../models/layers/snConv2d';
import type { Pooling } from '../models/config';
import type { Attribute, OnnxGraphBuilder } from '../formats/onnxGraph';

/*
 * Our layers as standard ONNX ops on NCHW values. Each function takes the value names of its
 * inputs and returns the name of its output; weights are read from the tfjs variables as they
 * are (spectral-normalised kernels already divided by sigma, as inference uses them).
 */

/** The values of a tensor as a new Float32Array. */
export function floats(t: tf.Tensor): Float32Array {
  return Float32Array.from(t.dataSync());
}

/** A stride-1 'same' conv: tfjs's HWIO kernel, transposed to ONNX's OIHW. */
export function lowerConv(b: OnnxGraphBuilder, conv: SNConv2D, x: string, stem: string): string {
  const kernel = tf.tidy(() => tf.transpose(conv.effectiveKernel(false), [3, 2, 0, 1]));
  const weight = b.weight(`${stem}.weight`, floats(kernel), kernel.shape);
  kernel.dispose();
  const inputs = [x, weight];
  const bias = conv.biasWeight;
  if (bias) inputs.push(b.weight(`${stem}.bias`, floats(bias.read()), [conv.filters]));
  const k = conv.kernelSize;
  const pad = (k - 1) / 2;
  return b.node(
    'Conv',
    inputs,
    { kernel_shape: [k, k], pads: [pad, pad, pad, pad], strides: [1, 1] },
    stem,
  );
}

export function lowerLeakyRelu(b: OnnxGraphBuilder, x: string, slope: number): string {
  return b.node('LeakyRelu', [x], { alpha: { float: slope } });
}

export function lowerAvgPool2x(b: OnnxGraphBuilder, x: string): string {
  return b.node('AveragePool', [x], { kernel_shape: [2, 2], strides: [2, 2] });
}

/**
 * 2x upsampling with tfjs's resize semantics (alignCorners false, halfPixelCenters true):
 * bilinear is Resize 'linear' with 'half_pixel' coordinates (edges clamp in both); nearest picks
 * source floor((o + 0.5) / 2) = floor(o / 2), which is 'asymmetric' with 'floor' at scale 2.
 */
export function lowerUpsample2x(b: OnnxGraphBuilder, x: string, mode: UpsamplingMode): string {
  const scales = b.constant('scales_2x', [1, 1, 2, 2], [4]);
  const attributes: Record<string, Attribute> =
    mode === 'bilinear'
      ? { mode: 'linear', coordinate_transformation_mode: 'half_pixel' }
      : { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' };
  return b.node('Resize', [x, '', scales], attributes, `upsample_${mode}`);
}

/** Instance normalisation with per-channel scale and shift (the biased variance, as tfjs's). */
function instanceNormalization(
  b: OnnxGraphBuilder,
  x: string,
  scale: Float32Array,
  shift: Float32Array,
  stem: string,
): string {
  const c = scale.length;
  return b.node(
    'InstanceNormalization',
    [x, b.weight(`${stem}.scale`, scale, [c]), b.weight(`${stem}.shift`, shift, [c])],
    { epsilon: { float: NORM_EPSILON } },
    stem,
  );
}

/**
 * Where AdaIN's (mean, std) come from, consumed in psi's order: constants (psi' baked in) or
 * slices of a graph value psi [batch, psiLength] (psi = P·ê computed in the graph).
 */
export interface PsiSource {
  /** Lowers AdaIN(x) with the next `channels` means and stds of psi. */
  adain(b: OnnxGraphBuilder, x: string, channels: number, stem: string): string;
}

/** psi' as constants: AdaIN becomes InstanceNormalization whose scale is std and shift mean. */
export function constantPsi(psi: Float32Array): PsiSource & { used(): number } {
  let offset = 0;
  return {
    adain(b, x, channels, stem) {
      const mean = psi.subarray(offset, offset + channels);
      const std = psi.subarray(offset + channels, offset + 2 * channels).map((s) => 1 + s);
      offset += 2 * channels;
      return instanceNormalization(b, x, std, Float32Array.from(mean), stem);
    },
    used: () => offset,
  };
}

/** psi as a graph value [batch, psiLength]: each sample standardised, then scaled and shifted. */
export function graphPsi(psi: string): PsiSource & { used(): number } {
  let offset = 0;
  const slice = (b: OnnxGraphBuilder, start: number, channels: number, stem: string) => {
    const part = b.node(
      'Slice',
      [psi, b.int64s('start', [start]), b.int64s('end', [start + channels]), b.int64s('axis', [1])],
      {},
      stem,
    );
    return b.node('Unsqueeze', [part, b.int64s('axes_hw', [2, 3])], {}, `${stem}_nchw`);
  };
  return {
    adain(b, x, channels, stem) {
      const mean = slice(b, offset, channels, `${stem}.mean`);
      const stdOffset = slice(b, offset + channels, channels, `${stem}.std_offset`);
      offset += 2 * channels;
      const std = b.node('Add', [stdOffset, b.constant('one', [1], [])], {}, `${stem}.std`);
      const ones = new Float32Array(channels).fill(1);
      const normalized = instanceNormalization(b, x, ones, new Float32Array(channels), stem);
      return b.node('Add', [b.node('Mul', [normalized, std]), mean], {}, stem);
    },
    used: () => offset,
  };
}

export function lowerInstanceNorm(
  b: OnnxGraphBuilder,
  norm: InstanceNorm,
  x: string,
  stem: string,
): string {
  return instanceNormalization(b, x, floats(norm.gamma.read()), floats(norm.beta.read()), stem);
}

export function lowerResBlockDown(
  b: OnnxGraphBuilder,
  block: ResBlockDown,
  x: string,
  stem: string,
): string {
  const skip = lowerAvgPool2x(b, lowerConv(b, block.skip, x, `${stem}.skip`));
  let h = lowerLeakyRelu(b, x, block.leakySlope);
  h = lowerLeakyRelu(b, lowerConv(b, block.conv1, h, `${stem}.conv1`), block.leakySlope);
  h = lowerAvgPool2x(b, lowerConv(b, block.conv2, h, `${stem}.conv2`));
  return b.node('Add', [skip, h], {}, stem);
}

export function lowerResBlock(
  b: OnnxGraphBuilder,
  block: ResBlock,
  x: string,
  channels: number,
  psi: PsiSource,
  stem: string,
): string {
  let h = lowerLeakyRelu(b, psi.adain(b, x, channels, `${stem}.adain1`), block.leakySlope);
  h = lowerConv(b, block.conv1, h, `${stem}.conv1`);
  h = lowerLeakyRelu(b, psi.adain(b, h, channels, `${stem}.adain2`), block.leakySlope);
  return b.node('Add', [lowerConv(b, block.conv2, h, `${stem}.conv2`), x], {}, stem);
}

export function lowerResBlockUp(
  b: OnnxGraphBuilder,
  block: ResBlockUp,
  x: string,
  channels: number,
  psi: PsiSource,
  stem: string,
): string {
  const skip = lowerConv(b, block.skip, lowerUpsample2x(b, x, block.upsampling), `${stem}.skip`);
  let h = lowerLeakyRelu(b, psi.adain(b, x, channels, `${stem}.adain1`), block.leakySlope);
  h = lowerConv(b, block.conv1, lowerUpsample2x(b, h, block.upsampling), `${stem}.conv1`);
  h = lowerLeakyRelu(b, psi.adain(b, h, block.filters, `${stem}.adain2`), block.leakySlope);
  return b.node('Add', [skip, lowerConv(b, block.conv2, h, `${stem}.conv2`)], {}, stem);
}

/**
 * SAGAN self-attention on NCHW x [batch, c, height, width] with n = height * width positions:
 * logits[i, j] = f_i · g_j, attention = softmax over j, out_i = gamma * sum_j a_ij h_j + x_i.
 * The batch stays symbolic: Reshape's 0 copies it from the input.
 */
export function lowerSelfAttention(
  b: OnnxGraphBuilder,
  attention: SelfAttention,
  x: string,
  shape: { channels: number; height: number; width: number },
  stem: string,
): string {
  const { channels: c, height, width } = shape;
  const n = height * width;
  const flatten = (value: string, rows: number, name: string) =>
    b.node('Reshape', [value, b.int64s('shape', [0, rows, n])], {}, name);
  const reduced = attention.f.filters;
  const f = flatten(lowerConv(b, attention.f, x, `${stem}.f`), reduced, `${stem}.f_flat`);
  const g = flatten(lowerConv(b, attention.g, x, `${stem}.g`), reduced, `${stem}.g_flat`);
  const h = flatten(lowerConv(b, attention.h, x, `${stem}.h`), c, `${stem}.h_flat`);
  const fT = b.node('Transpose', [f], { perm: [0, 2, 1] }, `${stem}.f_t`);
  const logits = b.node('MatMul', [fT, g], {}, `${stem}.logits`); // [batch, n, n]
  const weights = b.node('Softmax', [logits], { axis: -1 }, `${stem}.softmax`);
  const weightsT = b.node('Transpose', [weights], { perm: [0, 2, 1] }, `${stem}.softmax_t`);
  const attended = b.node('MatMul', [h, weightsT], {}, `${stem}.attended`); // [batch, c, n]
  const spatial = b.node(
    'Reshape',
    [attended, b.int64s('shape', [0, c, height, width])],
    {},
    `${stem}.attended_nchw`,
  );
  const gamma = b.weight(`${stem}.gamma`, floats(attention.gamma.read()), []);
  return b.node('Add', [b.node('Mul', [spatial, gamma]), x], {}, stem);
}

/** Global pooling over height and width, NCHW [batch, c, h, w] -> [batch, c]. */
export function lowerGlobalPool(b: OnnxGraphBuilder, x: string, mode: Pooling): string {
  switch (mode) {
    case 'sum': // opset 13+: ReduceSum takes its axes as an input
      return b.node('ReduceSum', [x, b.int64s('axes_hw', [2, 3])], { keepdims: 0 }, 'pool_sum');
    case 'max': // opset 17 ReduceMax and ReduceMean still take axes as an attribute
      return b.node('ReduceMax', [x], { axes: [2, 3], keepdims: 0 }, 'pool_max');
    case 'avg':
      return b.node('ReduceMean', [x], { axes: [2, 3], keepdims: 0 }, 'pool_avg');
  }
}

/** Each child layer's name in its parent ('down1', 'res2', 'attentionUp1'), for readable values. */
export function childNames(parent: ModuleLayer): Map<ModuleLayer, string> {
  return new Map([...parent.namedChildren()].map(([name, layer]) => [layer, name]));
}

/** An NCHW activation's shape without the batch axis. */
export interface FeatureShape {
  channels: number;
  height: number;
  width: number;
}

/**
 * Lowers one psi-free stage (ResBlockDown, InstanceNorm, SelfAttention) and returns its output
 * and output shape.
 */
export function lowerPlainStage(
  b: OnnxGraphBuilder,
  layer: ModuleLayer,
  x: string,
  shape: FeatureShape,
  stem: string,
): { value: string; shape: FeatureShape } {
  if (layer instanceof ResBlockDown) {
    const out = { channels: layer.filters, height: shape.height / 2, width: shape.width / 2 };
    return { value: lowerResBlockDown(b, layer, x, stem), shape: out };
  }
  if (layer instanceof InstanceNorm) return { value: lowerInstanceNorm(b, layer, x, stem), shape };
  if (layer instanceof SelfAttention)
    return { value: lowerSelfAttention(b, layer, x, shape, stem), shape };
  throw new Error(`no ONNX lowering for ${layer.getClassName()} (${stem})`);
}

/** Lowers one generator up-path stage (ResBlock, ResBlockUp, SelfAttention). */
export function lowerPsiStage(
  b: OnnxGraphBuilder,
  layer: ModuleLayer,
  x: string,
  shape: FeatureShape,
  psi: PsiSource,
  stem: string,
): { value: string; shape: FeatureShape } {
  if (layer instanceof ResBlock)
    return { value: lowerResBlock(b, layer, x, shape.channels, psi, stem), shape };
  if (layer instanceof ResBlockUp) {
    const out = { channels: layer.filters, height: shape.height * 2, width: shape.width * 2 };
    return { value: lowerResBlockUp(b, layer, x, shape.channels, psi, stem), shape: out };
  }
  return lowerPlainStage(b, layer, x, shape, stem);
}
