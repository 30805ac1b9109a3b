import * as tf from '@tensorflow/tfjs';
import { generatorWidths, validateModelConfig, type ModelConfig } from './config';
import { adaptiveInstanceNorm } from './layers/adain';
import { InstanceNorm } from './layers/instanceNorm';
import { ModuleLayer, type CallArgs, type LayerVariable, type Shape } from './layers/moduleLayer';
import { ResBlock, splitAdainParams } from './layers/resBlock';
import { ResBlockDown } from './layers/resBlockDown';
import { ResBlockUp } from './layers/resBlockUp';
import { SelfAttention } from './layers/selfAttention';
import { SNConv2D } from './layers/snConv2d';
import { SNDense } from './layers/snDense';
import { leakyRelu } from '../ops/leakyRelu';

/** One stage of the generator and, for AdaIN stages, how many psi entries it takes. */
export interface GeneratorStage {
  layer: ModuleLayer;
  psi: number;
}

/** The generator's parts in order, for code that walks the network (the ONNX export). */
export interface GeneratorLayout {
  /** ResBlockDown, InstanceNorm and SelfAttention stages, without psi. */
  down: readonly ModuleLayer[];
  /** ResBlock, ResBlockUp (psi > 0) and SelfAttention (psi 0) stages. */
  up: readonly GeneratorStage[];
  outConv: SNConv2D;
  projection: SNDense;
  /** How psi splits between the AdaIN stages, in order; the last part is the output AdaIN's. */
  psiParts: readonly number[];
  /** psi' in fine-tuning mode [psiLength]; undefined in meta mode. */
  psiPrime: tf.Tensor1D | undefined;
}

/**
 * G(y, ê): landmark image -> frame, in the style of Johnson et al.: ResBlockDown blocks with
 * instance norm, residual blocks and ResBlockUp blocks with AdaIN, self-attention where the
 * config says, then AdaIN, lrelu, conv3x3 to RGB and a sigmoid or tanh.
 * Every AdaIN mean and std comes from psi = P·ê ('meta' mode) or, after enterFinetuning(), from
 * a free per-person psi' ('finetune' mode).
 */
export class Generator extends ModuleLayer {
  static readonly className = 'Generator';
  readonly config: ModelConfig;
  private readonly downStages: ModuleLayer[] = [];
  private readonly upStages: GeneratorStage[] = [];
  private outConv!: SNConv2D;
  private projection!: SNDense;
  private psiPrime: LayerVariable | undefined;
  /** How psi splits between the AdaIN stages, in order; the last part is the output AdaIN's. */
  private psiParts: number[] = [];
  /** Length of psi: the number of AdaIN parameters. */
  psiLength = 0;

  constructor(config: ModelConfig, options: { seed?: number; name?: string } = {}) {
    super({ name: options.name ?? 'generator' });
    this.config = validateModelConfig(config);
    const s = this.config.imageSize;
    this.seedWeightsByPath(options.seed ?? 0, 'generator.');
    // Weights do not depend on the batch size: build now so they exist before the first call.
    this.build([
      [1, s, s, 3],
      [1, this.config.embeddingSize],
    ]);
  }

  get mode(): 'meta' | 'finetune' {
    return this.psiPrime ? 'finetune' : 'meta';
  }

  override build(inputShape: Shape | Shape[]): void {
    const yShape = Array.isArray(inputShape[0])
      ? (inputShape as Shape[])[0]!
      : (inputShape as Shape);
    const { config } = this;
    const widths = generatorWidths(config);
    const slope = config.leakySlope;
    let shape: Shape = [yShape[0]!, config.imageSize, config.imageSize, 3];
    const add = <T extends ModuleLayer>(name: string, layer: T): T => {
      const child = this.addChild(name, layer);
      ModuleLayer.buildChild(child, shape);
      return child;
    };

    widths.down.forEach((filters, i) => {
      const kernelSize = i === 0 ? config.generatorFirstKernel : 3;
      const down = add(
        `down${i + 1}`,
        new ResBlockDown({
          filters,
          kernelSize,
          leakySlope: slope,
          outputBias: false,
        }),
      );
      shape = down.computeOutputShape(shape);
      this.downStages.push(down, add(`norm${i + 1}`, new InstanceNorm({})));
      if (config.attention.generatorDown.includes(shape[1]!)) {
        this.downStages.push(add(`attentionDown${i + 1}`, new SelfAttention({})));
      }
    });

    const withPsi = (psiShape: number): Shape[] => [shape, [shape[0]!, psiShape]];
    const bottleneck = shape[3]!;
    for (let i = 0; i < config.residualBlocks; i++) {
      const psi = ResBlock.adainParamCount(bottleneck);
      const block = this.addChild(`res${i + 1}`, new ResBlock({ leakySlope: slope }));
      ModuleLayer.buildChild(block, withPsi(psi));
      this.upStages.push({ layer: block, psi });
    }
    widths.up.forEach((filters, i) => {
      const psi = ResBlockUp.adainParamCount(shape[3]!, filters);
      const block = this.addChild(
        `up${i + 1}`,
        new ResBlockUp({
          filters,
          leakySlope: slope,
          upsampling: config.upsampling,
        }),
      );
      ModuleLayer.buildChild(block, withPsi(psi));
      shape = block.computeOutputShape(withPsi(psi));
      this.upStages.push({ layer: block, psi });
      if (i < widths.up.length - 1 && config.attention.generatorUp.includes(shape[1]!)) {
        this.upStages.push({
          layer: add(`attentionUp${i + 1}`, new SelfAttention({})),
          psi: 0,
        });
      }
    });
    // The final AdaIN takes one (mean, std) pair over the last up block's channels.
    this.outConv = add('outConv', new SNConv2D({ filters: 3, kernelSize: 3 }));
    this.psiParts = [...this.upStages.map((s) => s.psi).filter((n) => n > 0), 2 * shape[3]!];
    this.psiLength = this.psiParts.reduce((a, b) => a + b, 0);
    this.projection = this.addChild(
      'projection',
      new SNDense({
        units: this.psiLength,
        spectralNorm: false,
        useBias: false,
        kernelInitializer: tf.initializers.randomNormal({ mean: 0, stddev: 0.02 }),
      }),
    );
    ModuleLayer.buildChild(this.projection, [yShape[0]!, config.embeddingSize]);
    this.built = true;
  }

  layout(): GeneratorLayout {
    return {
      down: this.downStages,
      up: this.upStages,
      outConv: this.outConv,
      projection: this.projection,
      psiParts: this.psiParts,
      psiPrime: this.psiPrime?.read() as tf.Tensor1D | undefined,
    };
  }

  /** psi = P·ê for a batch of embeddings [batch, embeddingSize]. */
  projectEmbedding(embedding: tf.Tensor2D, training = false): tf.Tensor2D {
    return this.projection.call(embedding, { training }) as tf.Tensor2D;
  }

  /**
   * Fine-tuning: a free psi' initialised from P·ê_NEW replaces the projection, which is frozen.
   * `psiInit` is [psiLength] (or [1, psiLength]).
   */
  enterFinetuning(psiInit: tf.Tensor): void {
    if (psiInit.size !== this.psiLength) {
      throw new Error(`psi' needs ${this.psiLength} values, got ${psiInit.size}`);
    }
    if (!this.psiPrime) {
      this.psiPrime = this.addNamedWeight('psiPrime', [this.psiLength], tf.initializers.zeros());
    }
    this.psiPrime.write(tf.tidy(() => tf.reshape(psiInit, [this.psiLength])));
    this.projection.trainable = false;
  }

  /**
   * Meta mode: inputs [y, ê] with ê [batch, embeddingSize]. Fine-tuning mode: inputs [y] (or y).
   * Output: frames [batch, size, size, 3], trained against frames in [0, 1] (tanh's range is wider).
   */
  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: CallArgs): tf.Tensor {
    return tf.tidy(() => {
      const [y, embedding] = (Array.isArray(inputs) ? inputs : [inputs]) as [
        tf.Tensor4D,
        tf.Tensor2D?,
      ];
      const psi = this.psiFor(y.shape[0], embedding, kwargs);
      const slices = tf.split(psi, this.psiParts, 1) as tf.Tensor2D[];
      let h: tf.Tensor = y;
      for (const stage of this.downStages) h = stage.call(h, kwargs) as tf.Tensor;
      let next = 0;
      for (const { layer, psi: takes } of this.upStages) {
        h = layer.call(takes > 0 ? [h, slices[next++]!] : h, kwargs) as tf.Tensor;
      }
      const [[mean, std]] = splitAdainParams(slices[next]!, [h.shape[3]!]);
      h = leakyRelu(adaptiveInstanceNorm(h as tf.Tensor4D, mean!, std!), this.config.leakySlope);
      const rgb = this.outConv.call(h, kwargs);
      return this.config.outputActivation === 'sigmoid' ? tf.sigmoid(rgb) : tf.tanh(rgb);
    });
  }

  /** The AdaIN parameters for a batch: psi' repeated (fine-tuning) or P·ê (meta). */
  private psiFor(batch: number, embedding: tf.Tensor2D | undefined, kwargs: CallArgs): tf.Tensor2D {
    if (this.psiPrime)
      return tf.tile(tf.reshape(this.psiPrime.read(), [1, this.psiLength]), [batch, 1]);
    if (embedding == null) throw new Error('generator in meta mode needs inputs [y, embedding]');
    return this.projection.call(embedding, kwargs) as tf.Tensor2D;
  }

  /** Runs G; pass the embedding in meta mode, omit it in fine-tuning mode. */
  generate(y: tf.Tensor4D, embedding?: tf.Tensor2D, training = false): tf.Tensor4D {
    return this.call(embedding ? [y, embedding] : [y], { training }) as tf.Tensor4D;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const y = Array.isArray(inputShape[0]) ? (inputShape as Shape[])[0]! : (inputShape as Shape);
    return [y[0]!, this.config.imageSize, this.config.imageSize, 3];
  }
}
