import * as tf from '@tensorflow/tfjs';
import { UserError } from '../../errors';
import { toFloat32, type RawTensor } from '../../formats/safetensors';
import { sameShape } from '../../formats/shape';
import { readWeightsFile } from '../../formats/weightsFile';
import { frozenConvRelu } from '../../ops/frozenConvRelu';
import type { FeatureBackbone } from './backbone';

export type VggKind = 'vgg19' | 'vggface';

/** Convs per block: VGG19 (ImageNet) and VGG-Face (a VGG16). Every conv is 3x3, padding 1. */
const BLOCKS: Record<VggKind, number[]> = { vgg19: [2, 2, 4, 4, 4], vggface: [2, 2, 3, 3, 3] };
const WIDTHS = [64, 128, 256, 512, 512];

/** ImageNet statistics, for inputs in [0, 1] RGB (torchvision). */
const IMAGENET_MEAN = [0.485, 0.456, 0.406];
const IMAGENET_STD = [0.229, 0.224, 0.225];
/** VGG-Face's mean face, in 0-255 RGB (vgg_face_dag's meta; the Caffe original lists it as BGR). */
const VGGFACE_MEAN_RGB = [129.186279296875, 104.76238250732422, 93.59396362304688];

export interface VggOptions {
  /**
   * VGG-Face only: the channel order its first conv expects. 'rgb' for vgg_face_dag.pth (converted
   * from MatConvNet), 'bgr' for conversions of the original Caffe model.
   */
  channelOrder?: 'rgb' | 'bgr';
}

interface ConvSpec {
  /** Our layer name: conv{block}_{index}. */
  name: string;
  /** The checkpoint's tensor prefix: torchvision's features.N or vgg_face_dag's conv{b}_{i}. */
  prefix: string;
  inChannels: number;
  outChannels: number;
  /** The block's last conv: a 2x2 max-pool follows its ReLU. */
  poolAfter: boolean;
}

function convSpecs(kind: VggKind): ConvSpec[] {
  const specs: ConvSpec[] = [];
  let index = 0; // position in torchvision's `features` Sequential
  let inChannels = 3;
  BLOCKS[kind].forEach((count, b) => {
    for (let i = 0; i < count; i++) {
      const name = `conv${b + 1}_${i + 1}`;
      const prefix = kind === 'vgg19' ? `features.${index}` : name;
      specs.push({ name, prefix, inChannels, outChannels: WIDTHS[b]!, poolAfter: i === count - 1 });
      inChannels = WIDTHS[b]!;
      index += 2; // conv, relu
    }
    index += 1; // max-pool
  });
  return specs;
}

/** The tensors a checkpoint must hold, with their PyTorch (OIHW) shapes. */
export function expectedVggTensors(kind: VggKind): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const c of convSpecs(kind)) {
    out[`${c.prefix}.weight`] = [c.outChannels, c.inChannels, 3, 3];
    out[`${c.prefix}.bias`] = [c.outChannels];
  }
  return out;
}

class VggBackbone implements FeatureBackbone {
  readonly layerNames: readonly string[];
  private readonly specs: ConvSpec[];

  constructor(
    readonly name: VggKind,
    private readonly kernels: Map<string, { kernel: tf.Tensor4D; bias: tf.Tensor1D }>,
    private readonly channelOrder: 'rgb' | 'bgr',
  ) {
    this.specs = convSpecs(name);
    this.layerNames = this.specs.flatMap((c) => {
      const names = [c.name, c.name.replace('conv', 'relu')];
      return c.poolAfter ? [...names, `pool${c.name[4]}`] : names;
    });
  }

  private normalize(images: tf.Tensor4D): tf.Tensor4D {
    if (this.name === 'vgg19') return tf.div(tf.sub(images, IMAGENET_MEAN), IMAGENET_STD);
    const centred = tf.sub(tf.mul(images, 255), VGGFACE_MEAN_RGB) as tf.Tensor4D;
    return this.channelOrder === 'bgr' ? tf.reverse(centred, 3) : centred;
  }

  features(images: tf.Tensor4D, layers: readonly string[]): tf.Tensor4D[] {
    for (const layer of layers) {
      if (!this.layerNames.includes(layer)) {
        throw new UserError(
          `${this.name} has no layer '${layer}'; it has ${this.layerNames.join(', ')}`,
        );
      }
    }
    return tf.tidy(() => {
      const wanted = new Set(layers);
      const found = new Map<string, tf.Tensor4D>();
      let h = this.normalize(images);
      for (const spec of this.specs) {
        if (found.size === wanted.size) break; // nothing deeper is needed
        const { kernel, bias } = this.kernels.get(spec.name)!;
        if (wanted.has(spec.name)) {
          h = tf.add(tf.conv2d(h, kernel, 1, 'same'), bias);
          found.set(spec.name, h);
          h = tf.relu(h);
        } else {
          // The filters never train: one fused kernel, and a gradient for the input alone.
          h = frozenConvRelu(h, kernel, bias);
        }
        const relu = spec.name.replace('conv', 'relu');
        if (wanted.has(relu)) found.set(relu, h);
        if (spec.poolAfter) {
          h = tf.maxPool(h, 2, 2, 'valid');
          const pool = `pool${spec.name[4]}`;
          if (wanted.has(pool)) found.set(pool, h);
        }
      }
      return layers.map((layer) => found.get(layer)!);
    });
  }

  dispose(): void {
    for (const { kernel, bias } of this.kernels.values()) tf.dispose([kernel, bias]);
  }
}

/**
 * A VGG backbone from a checkpoint's tensors (torchvision names for vgg19, vgg_face_dag names for
 * vggface). Every conv's weight and bias must be there with its PyTorch shape; the rest
 * (classifier, fc layers) is ignored. Kernels go from OIHW to tfjs's HWIO.
 */
export function vggFromTensors(
  kind: VggKind,
  tensors: Record<string, RawTensor>,
  source: string,
  options: VggOptions = {},
): FeatureBackbone {
  const kernels = new Map<string, { kernel: tf.Tensor4D; bias: tf.Tensor1D }>();
  try {
    for (const spec of convSpecs(kind)) {
      const weightName = `${spec.prefix}.weight`;
      const biasName = `${spec.prefix}.bias`;
      const expected = expectedVggTensors(kind);
      for (const name of [weightName, biasName]) {
        const raw = tensors[name];
        if (raw == null)
          throw new UserError(
            `${source}: missing tensor '${name}' (${kind} ${spec.name}); is this a ${kind} checkpoint?`,
          );
        if (!sameShape(raw.shape, expected[name]!)) {
          throw new UserError(
            `${source}: tensor '${name}' has shape [${raw.shape}], ${kind} ${spec.name} needs [${expected[name]}]`,
          );
        }
      }
      const raw = tensors[weightName]!;
      const kernel = tf.tidy(
        () =>
          tf.transpose(
            tf.tensor4d(toFloat32(raw), raw.shape as [number, number, number, number]),
            [2, 3, 1, 0],
          ) as tf.Tensor4D,
      );
      kernels.set(spec.name, { kernel, bias: tf.tensor1d(toFloat32(tensors[biasName]!)) });
    }
  } catch (err) {
    for (const { kernel, bias } of kernels.values()) tf.dispose([kernel, bias]);
    throw err;
  }
  return new VggBackbone(kind, kernels, options.channelOrder ?? 'rgb');
}

/** Loads a VGG backbone from a .pth (PyTorch zip) or .safetensors file. */
export async function loadVggBackbone(
  kind: VggKind,
  file: string,
  options: VggOptions = {},
): Promise<FeatureBackbone> {
  const { tensors } = await readWeightsFile(file);
  return vggFromTensors(kind, tensors, file, options);
}
