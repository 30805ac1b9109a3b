import * as tf from '@tensorflow/tfjs';
import {
  ModuleLayer,
  single,
  subSeed,
  type CallArgs,
  type LayerVariable,
  type Shape,
} from './moduleLayer';
import { SNConv2D } from './snConv2d';

/**
 * SAGAN self-attention: f, g = 1x1 convs to c/8, h = 1x1 conv to c; softmax attention over
 * positions; out = gamma * attention + x. gamma starts at 0, so the block starts as the
 * identity (and f, g, h get no gradient until gamma moves).
 */
export class SelfAttention extends ModuleLayer {
  static readonly className = 'SelfAttention';
  private readonly seed: number | undefined;
  /** The 1x1 convs, exposed for tests that recompute the block by hand. */
  f!: SNConv2D;
  g!: SNConv2D;
  h!: SNConv2D;
  gamma!: LayerVariable;

  constructor(args: { seed?: number; name?: string } = {}) {
    super({ name: args.name });
    this.seed = args.seed;
  }

  override build(inputShape: Shape): void {
    const c = inputShape[inputShape.length - 1]!;
    const reduced = Math.max(1, Math.floor(c / 8));
    const seed = this.seed;
    this.f = this.addChild('f', new SNConv2D({ filters: reduced, kernelSize: 1, seed }));
    // A bias on g adds the same logit to a whole row: softmax removes it, so it would get no gradient.
    this.g = this.addChild(
      'g',
      new SNConv2D({ filters: reduced, kernelSize: 1, useBias: false, seed: subSeed(seed, 1) }),
    );
    this.h = this.addChild(
      'h',
      new SNConv2D({ filters: c, kernelSize: 1, seed: subSeed(seed, 2) }),
    );
    for (const conv of [this.f, this.g, this.h]) ModuleLayer.buildChild(conv, inputShape);
    this.gamma = this.addNamedWeight('gamma', [1], tf.initializers.zeros());
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: CallArgs): tf.Tensor {
    return tf.tidy(() => {
      const x = single(inputs) as tf.Tensor4D;
      const [b, height, width, c] = x.shape;
      const n = height * width;
      const flat = (t: tf.Tensor) => tf.reshape(t, [b, n, -1]) as tf.Tensor3D;
      const f = flat(this.f.call(x, kwargs));
      const g = flat(this.g.call(x, kwargs));
      const h = flat(this.h.call(x, kwargs));
      const attention = tf.softmax(tf.matMul(f, g, false, true)); // [b, n, n]: rows sum to 1
      const attended = tf.reshape(tf.matMul(attention, h), [b, height, width, c]);
      return tf.add(tf.mul(attended, this.gamma.read()), x);
    });
  }

  override computeOutputShape(inputShape: Shape): Shape {
    return inputShape;
  }
}
