import * as tf from '@tensorflow/tfjs';
import { weightSeed, withSeed } from './weightSeed';

export type Shape = (number | null)[];
export type LayerVariable = tf.LayerVariable;
/** tfjs-layers' initialiser class, which its public typings do not name. */
export type Initializer = ReturnType<typeof tf.initializers.zeros>;

/** The keyword arguments our layers read; `training` drives spectral-norm power iteration. */
export interface CallArgs {
  training?: boolean;
}

export function isTraining(kwargs: tf.serialization.ConfigDict | CallArgs | undefined): boolean {
  return Boolean((kwargs as CallArgs | undefined)?.training);
}

/**
 * A tf.layers.Layer that owns named weights and child layers. tfjs layers do not track nested
 * layers, so this one does: its weight lists include its children's, and namedWeights() gives
 * every weight a stable dotted path ('down1.convMain1.kernel') independent of tfjs's global
 * name counters, for checkpoints that load across runs.
 */
export abstract class ModuleLayer extends tf.layers.Layer {
  private readonly ownWeights = new Map<string, LayerVariable>();
  private readonly childLayers = new Map<string, ModuleLayer>();
  /** Set inside a network (seedWeightsByPath): the network's seed and this layer's path in it. */
  private seedScope: { seed: number; prefix: string } | undefined;
  /** The own weights whose initial values came from (network seed, weight path). */
  private readonly pathSeeded = new Set<string>();

  /**
   * Makes every weight this layer and its children create from now on start from a seed derived
   * from `seed` and the weight's path (weightSeed), e.g. 'generator.down4.conv2.kernel': no two
   * weights of a network share a random stream, whatever seeds their layers were given. A network
   * calls it before it builds; a layer used on its own keeps the seed it was given.
   */
  protected seedWeightsByPath(seed: number, prefix: string): void {
    if (this.ownWeights.size > 0)
      throw new Error(`${this.name}: seed its weights by path before it creates them`);
    this.seedScope = { seed, prefix };
    for (const [name, child] of this.childLayers)
      child.seedWeightsByPath(seed, `${prefix}${name}.`);
  }

  protected addNamedWeight(
    name: string,
    shape: number[],
    initializer: Initializer,
    trainable = true,
  ): LayerVariable {
    const scope = this.seedScope;
    const start = scope
      ? withSeed(initializer, weightSeed(scope.seed, scope.prefix + name))
      : initializer;
    const weight = this.addWeight(name, shape, 'float32', start, undefined, trainable);
    this.ownWeights.set(name, weight);
    if (scope) this.pathSeeded.add(name);
    return weight;
  }

  protected addChild<T extends ModuleLayer>(name: string, layer: T): T {
    if (this.childLayers.has(name)) throw new Error(`duplicate child ${name} in ${this.name}`);
    this.childLayers.set(name, layer);
    if (this.seedScope)
      layer.seedWeightsByPath(this.seedScope.seed, `${this.seedScope.prefix}${name}.`);
    return layer;
  }

  /** The paths of the weights (this layer's and its children's) seeded by path. */
  pathSeededWeights(prefix = ''): string[] {
    return [
      ...[...this.pathSeeded].map((name) => prefix + name),
      ...[...this.childLayers].flatMap(([name, child]) =>
        child.pathSeededWeights(`${prefix}${name}.`),
      ),
    ];
  }

  /** Builds a child for a known input shape, once. */
  protected static buildChild(layer: tf.layers.Layer, inputShape: Shape | Shape[]): void {
    if (!layer.built) {
      layer.build(inputShape as tf.Shape | tf.Shape[]);
      layer.built = true;
    }
  }

  /** The direct children by the names their weights' paths use ('down1', 'conv2'). */
  namedChildren(): ReadonlyMap<string, ModuleLayer> {
    return this.childLayers;
  }

  /** Every weight of this layer and its children, keyed by a stable dotted path. */
  namedWeights(prefix = ''): Map<string, LayerVariable> {
    const out = new Map<string, LayerVariable>();
    for (const [name, weight] of this.ownWeights) out.set(prefix + name, weight);
    for (const [name, child] of this.childLayers) {
      for (const [path, weight] of child.namedWeights(`${prefix}${name}.`)) out.set(path, weight);
    }
    return out;
  }

  override get trainableWeights(): LayerVariable[] {
    const own = super.trainableWeights;
    if (!this.trainable) return own;
    return own.concat([...this.childLayers.values()].flatMap((c) => c.trainableWeights));
  }

  override set trainableWeights(weights: LayerVariable[]) {
    super.trainableWeights = weights;
  }

  override get nonTrainableWeights(): LayerVariable[] {
    const own = super.nonTrainableWeights;
    const children = [...this.childLayers.values()];
    return own.concat(
      children.flatMap((c) =>
        this.trainable ? c.nonTrainableWeights : [...c.trainableWeights, ...c.nonTrainableWeights],
      ),
    );
  }

  override set nonTrainableWeights(weights: LayerVariable[]) {
    super.nonTrainableWeights = weights;
  }

  /** Number of trainable scalars, this layer and its children. */
  countTrainableParams(): number {
    return this.trainableWeights.reduce(
      (n, w) => n + tf.util.sizeFromShape(w.shape as number[]),
      0,
    );
  }

  /**
   * Frees this layer's and its children's weights. tfjs's own dispose() counts apply() calls and
   * refuses layers that were only call()ed, as ours are; this frees the variables directly.
   */
  override dispose(): { refCountAfterDispose: number; numDisposedVariables: number } {
    let numDisposedVariables = 0;
    for (const child of this.childLayers.values())
      numDisposedVariables += child.dispose().numDisposedVariables;
    for (const weight of this.ownWeights.values()) {
      weight.dispose();
      numDisposedVariables++;
    }
    this.ownWeights.clear();
    return { refCountAfterDispose: 0, numDisposedVariables };
  }
}

/** The one tensor of a call's inputs. */
export function single(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
  return Array.isArray(inputs) ? inputs[0]! : inputs;
}

/** The seed of a layer's k-th sub-layer: distinct initial weights, yet reproducible. */
export function subSeed(seed: number | undefined, k: number): number | undefined {
  return seed === undefined ? undefined : seed + k;
}
