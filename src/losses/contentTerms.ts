import type { FeatureBackbone } from './backbones/backbone';
import { loadFaceApiBackbone } from './backbones/faceapi';
import { loadVggBackbone } from './backbones/vgg';
import type { ContentTerm } from './contentLoss';
import { PAPER_LOSS_WEIGHTS, type LossWeights } from './lossWeights';

/** The paper's layers: VGG19 relu1_1..relu5_1 and VGG-Face conv1_1..conv5_1 after ReLU. */
export const PAPER_CONTENT_LAYERS = {
  vgg19: ['relu1_1', 'relu2_1', 'relu3_1', 'relu4_1', 'relu5_1'],
  vggface: ['relu1_1', 'relu2_1', 'relu3_1', 'relu4_1', 'relu5_1'],
  // face-api's recognition net: its first conv (72 px, after ReLU: the counterpart of relu1_1)
  // and the last residual block at each width (35, 17, 8 and 4 px).
  faceapi: ['conv32_down', 'conv32_3', 'conv64_3', 'conv128_2', 'conv256_2'],
} as const;

export interface ContentTermOptions {
  /** torchvision vgg19-*.pth, or its .safetensors conversion. */
  vgg19Weights?: string;
  /** vgg_face_dag.pth (RGB) or a Caffe conversion (set vggfaceChannelOrder: 'bgr'). */
  vggfaceWeights?: string;
  vggfaceChannelOrder?: 'rgb' | 'bgr';
  weights?: Partial<LossWeights>;
}

/**
 * The terms of L_CNT. With VGG weights files, the paper's VGG19 and VGG-Face terms; with none
 * (no pretrained VGG exists offline), the face recognition net bundled with face-api, which
 * needs no download.
 */
export async function loadContentTerms(options: ContentTermOptions = {}): Promise<ContentTerm[]> {
  const weights = { ...PAPER_LOSS_WEIGHTS, ...options.weights };
  const terms: ContentTerm[] = [];
  const add = (backbone: FeatureBackbone, layers: readonly string[], weight: number) =>
    terms.push({ backbone, layers, weight });
  try {
    // A term weighted 0 is not loaded at all: its forward passes would cost time for nothing.
    if (options.vgg19Weights && weights.vgg19 > 0) {
      add(
        await loadVggBackbone('vgg19', options.vgg19Weights),
        PAPER_CONTENT_LAYERS.vgg19,
        weights.vgg19,
      );
    }
    if (options.vggfaceWeights && weights.vggface > 0) {
      const channelOrder = options.vggfaceChannelOrder ?? 'rgb';
      const vggface = await loadVggBackbone('vggface', options.vggfaceWeights, { channelOrder });
      add(vggface, PAPER_CONTENT_LAYERS.vggface, weights.vggface);
    }
    if (!options.vgg19Weights && !options.vggfaceWeights && weights.faceapi > 0) {
      add(await loadFaceApiBackbone(), PAPER_CONTENT_LAYERS.faceapi, weights.faceapi);
    }
  } catch (err) {
    for (const term of terms) term.backbone.dispose();
    throw err;
  }
  return terms;
}
