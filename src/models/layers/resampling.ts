import * as tf from '@tensorflow/tfjs';

export type UpsamplingMode = 'bilinear' | 'nearest';

/**
 * 2x upsampling. Bilinear uses half-pixel centres without corner alignment, which is PyTorch's
 * nn.Upsample(mode='bilinear', align_corners=False) and ONNX Resize 'half_pixel'.
 */
export function upsample2x(x: tf.Tensor4D, mode: UpsamplingMode): tf.Tensor4D {
  const size: [number, number] = [x.shape[1] * 2, x.shape[2] * 2];
  return mode === 'bilinear'
    ? tf.image.resizeBilinear(x, size, false, true)
    : tf.image.resizeNearestNeighbor(x, size, false, true);
}

export function avgPool2x(x: tf.Tensor4D): tf.Tensor4D {
  return tf.avgPool(x, 2, 2, 'valid');
}
