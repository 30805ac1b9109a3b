import { z } from 'zod';
import { UserError } from '../errors';
import { PAPER_LOSS_WEIGHTS, type LossWeights } from '../losses/lossWeights';
import { PRESETS, validateModelConfig, type ModelConfig, type PresetName } from '../models/config';
import { printable, quote } from '../oneLine';

/*
 * The meta-learning config: what configs/*.yaml hold. Every level is strict, so a mistyped key
 * fails by name instead of silently leaving a default in place. Defaults are the paper's
 * settings (docs/method.md); configs/voxceleb2.yaml spells them out with their sources.
 */

/** A value shown in an error message: short, on one line. */
function shown(value: unknown): string {
  if (typeof value === 'string') {
    const text = value.length > 40 ? `${value.slice(0, 40)}...` : value;
    return printable(JSON.stringify(text));
  }
  if (Array.isArray(value)) return 'a list';
  if (value !== null && typeof value === 'object') return 'a mapping';
  return String(value);
}

/** zod's error option: every failure of a field reads "expected <what>, got <value>". */
function expected(what: string) {
  return {
    error: (issue: { input?: unknown }) =>
      issue.input === undefined
        ? `missing; expected ${what}`
        : `expected ${what}, got ${shown(issue.input)}`,
  };
}

function positiveInt(what = 'a positive integer') {
  const e = expected(what);
  return z.number(e).int(e).min(1, e);
}

function nonNegativeInt(what = 'a non-negative integer') {
  const e = expected(what);
  return z.number(e).int(e).min(0, e);
}

function positiveNumber() {
  const e = expected('a positive number');
  return z.number(e).positive(e);
}

function nonNegativeNumber() {
  const e = expected('a number >= 0');
  return z.number(e).min(0, e);
}

/** [0, 1): Adam's betas, the held-out share, the leaky ReLU slope. */
function fraction() {
  const e = expected('a number in [0, 1)');
  return z.number(e).min(0, e).lt(1, e);
}

function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, expected(`one of ${values.map((v) => quote(v)).join(', ')}`));
}

function bool() {
  return z.boolean(expected('true or false'));
}

/** A file or folder path; null (the default) means none. */
function optionalPath() {
  const e = expected('a path or null');
  return z.string(e).min(1, e).nullable().default(null);
}

function section<T extends z.core.$ZodLooseShape>(shape: T, what = 'a mapping') {
  return z.strictObject(shape, expected(what));
}

// ---- model ---------------------------------------------------------------------------------

const PRESET_NAMES = Object.keys(PRESETS) as [PresetName, ...PresetName[]];

const featureMapSizes = () =>
  z.array(positiveInt('a feature-map size'), expected('a list of feature-map sizes'));

const attentionShape = {
  embedder: featureMapSizes().optional(),
  generatorDown: featureMapSizes().optional(),
  generatorUp: featureMapSizes().optional(),
  discriminator: featureMapSizes().optional(),
} satisfies Record<keyof ModelConfig['attention'], z.ZodType>;

const modelFieldsShape = {
  imageSize: positiveInt().optional(),
  baseWidth: positiveInt().optional(),
  maxWidth: positiveInt().optional(),
  embeddingSize: positiveInt().optional(),
  generatorFirstKernel: positiveInt('an odd positive integer').optional(),
  residualBlocks: positiveInt().optional(),
  attention: section(attentionShape).optional(),
  embedderPooling: oneOf(['sum', 'max', 'avg']).optional(),
  discriminatorPooling: oneOf(['sum', 'max', 'avg']).optional(),
  outputActivation: oneOf(['sigmoid', 'tanh']).optional(),
  upsampling: oneOf(['bilinear', 'nearest']).optional(),
  leakySlope: fraction().optional(),
} satisfies Record<keyof ModelConfig, z.ZodType>;

const MODEL_FIELDS = Object.keys(modelFieldsShape) as (keyof ModelConfig)[];
const ATTENTION_PARTS = Object.keys(attentionShape) as (keyof ModelConfig['attention'])[];

/** The keys of `value` whose value is not undefined (absent optional fields drop out). */
function defined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * `preset` plus any field overrides, or every ModelConfig field; resolves to a full ModelConfig
 * checked by validateModelConfig, whose complaints become errors at the field's path.
 */
const modelSchema = section(
  { preset: oneOf(PRESET_NAMES).optional(), ...modelFieldsShape },
  `a mapping such as {preset: ${PRESET_NAMES[0]}}`,
).transform((raw, ctx): ModelConfig => {
  const { preset, attention, ...fields } = raw;
  let merged: ModelConfig;
  if (preset !== undefined) {
    const base = structuredClone(PRESETS[preset]);
    merged = {
      ...base,
      ...defined(fields),
      attention: { ...base.attention, ...defined(attention ?? {}) },
    };
  } else {
    const missing = [
      ...MODEL_FIELDS.filter((field) => raw[field] === undefined),
      ...(attention ? ATTENTION_PARTS.filter((part) => attention[part] === undefined) : []).map(
        (part) => `attention.${part}`,
      ),
    ];
    if (missing.length > 0) {
      ctx.issues.push({
        code: 'custom',
        input: raw,
        message:
          `without a preset (${PRESET_NAMES.join(' or ')}) every field is needed; ` +
          `missing: ${missing.join(', ')}`,
      });
      return z.NEVER;
    }
    merged = raw as ModelConfig;
  }
  try {
    return validateModelConfig(merged, 'model');
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    // validateModelConfig says "model: <field> <why>"; the field becomes the issue's path.
    const match = /^model: ([\w.]+) (.*)$/s.exec(err.message);
    ctx.issues.push({
      code: 'custom',
      input: raw,
      path: match ? match[1]!.split('.') : [],
      message: match ? match[2]! : err.message,
    });
    return z.NEVER;
  }
});

// ---- data, train, loss, log ----------------------------------------------------------------

const dataSchema = section({
  /** The dataset store (made by `talking-heads preprocess` or `synth`); the CLI's --data wins. */
  store: optionalPath(),
  /** Embedder frames per episode; the target frame is drawn apart from them. */
  k: positiveInt().default(8),
  /** Mirror whole episodes with probability 1/2. */
  flip: bool().default(true),
  /** Share of identities held out for the self-reenactment L1 evaluation. */
  heldoutFraction: fraction().default(0.05),
  splitSeed: nonNegativeInt().default(0),
  /**
   * The last stored frames of every video kept out of training: the targets of the held-out L1
   * (self-reenactment error on unseen frames of training identities).
   */
  heldoutFrames: nonNegativeInt().default(2),
  /**
   * A second store of people never trained on (the corpus's heldout store): when set, every
   * evaluation also measures the feed-forward L1 on its videos, the few-shot curve.
   */
  evalStore: optionalPath(),
  /** Batches loaded ahead of the one being trained on. */
  prefetch: nonNegativeInt().default(2),
  /** Landmark image background. */
  background: oneOf(['black', 'white']).default('black'),
});

const trainSchema = section({
  /** Not stated in the paper (8 GPUs); ports fit 2-3 per GPU: 8 x 2. */
  batchSize: positiveInt().default(16),
  /** Generator steps in all; 75 epochs of ~145k VoxCeleb2 videos at batch 16 is ~680k. */
  steps: positiveInt().default(680_000),
  /** D updates per E/G update: ports take one or two (docs/method.md); the paper two. */
  dStepsPerGStep: positiveInt().default(2),
  /** Adam for E and G together, and for D: the two time-scale rule (docs/method.md). */
  lrEmbedderGenerator: positiveNumber().default(5e-5),
  lrDiscriminator: positiveNumber().default(2e-4),
  /** Fine-tuning's Adam rates for G and D; null keeps the two above, as the paper does. */
  finetuneLrGenerator: positiveNumber().nullable().default(null),
  finetuneLrDiscriminator: positiveNumber().nullable().default(null),
  /** Not given in the paper; the ports use Adam's defaults. */
  beta1: fraction().default(0.9),
  beta2: fraction().default(0.999),
  epsilon: positiveNumber().default(1e-8),
  seed: nonNegativeInt().default(0),
  /** Stop after this many steps in a row with a NaN or infinite loss or gradient. */
  maxNonFiniteSteps: positiveInt().default(10),
  /** Global-norm gradient clipping per network; null is off (the paper mentions none). */
  gradientClip: positiveNumber().nullable().default(null),
});

const lossSchema = section({
  ...({
    featureMatching: nonNegativeNumber().default(PAPER_LOSS_WEIGHTS.featureMatching),
    embeddingMatch: nonNegativeNumber().default(PAPER_LOSS_WEIGHTS.embeddingMatch),
    vgg19: nonNegativeNumber().default(PAPER_LOSS_WEIGHTS.vgg19),
    vggface: nonNegativeNumber().default(PAPER_LOSS_WEIGHTS.vggface),
    faceapi: nonNegativeNumber().default(PAPER_LOSS_WEIGHTS.faceapi),
  } satisfies Record<keyof LossWeights, z.ZodType>),
  /** L_CNT's backbones (ContentTermOptions); with neither file, face-api's net stands in. */
  vgg19Weights: optionalPath(),
  vggfaceWeights: optionalPath(),
  vggfaceChannelOrder: oneOf(['rgb', 'bgr']).default('rgb'),
});

const logSchema = section({
  scalarsEvery: positiveInt().default(100),
  /** 0 turns sample images off. */
  imagesEvery: nonNegativeInt().default(1000),
  checkpointEvery: positiveInt().default(5000),
  /** Checkpoints kept on disk (the oldest go first). */
  keepCheckpoints: positiveInt().default(5),
  /** Held-out L1 every this many steps; 0 turns it off. */
  evalEvery: nonNegativeInt().default(5000),
  evalBatches: positiveInt().default(16),
});

export const trainConfigSchema = z.strictObject(
  {
    model: modelSchema,
    data: dataSchema.prefault({}),
    train: trainSchema.prefault({}),
    loss: lossSchema.prefault({}),
    log: logSchema.prefault({}),
  },
  expected('a mapping with the sections model, data, train, loss and log'),
);

export type TrainConfig = z.output<typeof trainConfigSchema>;

// ---- errors --------------------------------------------------------------------------------

/** The keys each mapping accepts, by its dotted path: for "did you mean". */
const KNOWN_KEYS: Record<string, readonly string[]> = {
  '': Object.keys(trainConfigSchema.shape),
  model: ['preset', ...MODEL_FIELDS],
  'model.attention': ATTENTION_PARTS,
  data: Object.keys(dataSchema.shape),
  train: Object.keys(trainSchema.shape),
  loss: Object.keys(lossSchema.shape),
  log: Object.keys(logSchema.shape),
};

/** Optimal-string-alignment distance: a swap of two neighbours counts as one edit. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

function joinPath(parent: string, key: string): string {
  return parent ? `${parent}.${key}` : key;
}

/** The known key an unknown one was probably meant to be: a near spelling, or another section. */
function suggestion(parent: string, key: string): string | undefined {
  const lower = key.toLowerCase();
  let best: { key: string; distance: number } | undefined;
  for (const known of KNOWN_KEYS[parent] ?? []) {
    const distance = editDistance(lower, known.toLowerCase());
    if (distance <= 2 && distance < key.length && (!best || distance < best.distance))
      best = { key: known, distance };
  }
  if (best) return joinPath(parent, best.key);
  for (const [other, keys] of Object.entries(KNOWN_KEYS)) {
    const found = keys.find((known) => known.toLowerCase() === lower);
    if (other !== parent && found) return joinPath(other, found);
  }
  return undefined;
}

function dottedPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    out = typeof part === 'number' ? `${out}[${part}]` : joinPath(out, String(part));
  }
  return printable(out);
}

/** Each issue as a message; an unknown key is one problem per key, and those come first. */
function problems(issues: readonly z.core.$ZodIssue[]): string[] {
  const unknown: string[] = [];
  const other: string[] = [];
  for (const issue of issues) {
    const where = dottedPath(issue.path);
    if (issue.code === 'unrecognized_keys') {
      const parent = issue.path.map(String).join('.');
      for (const key of issue.keys) {
        const hint = suggestion(parent, key);
        unknown.push(
          `unknown key ${quote(joinPath(parent, key))}` +
            (hint ? `; did you mean ${quote(hint)}?` : ''),
        );
      }
    } else {
      other.push(where ? `${where}: ${issue.message}` : issue.message);
    }
  }
  return [...unknown, ...other];
}

/**
 * A parsed YAML (or JSON) value as a TrainConfig with every default filled in. Any problem is a
 * one-line UserError naming `source` and the dotted key path.
 */
export function parseTrainConfig(value: unknown, source: string): TrainConfig {
  const result = trainConfigSchema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  const [first, ...rest] = problems(result.error.issues);
  const more =
    rest.length === 0 ? '' : ` (and ${rest.length} more problem${rest.length > 1 ? 's' : ''})`;
  throw new UserError(`${printable(source)}: ${first ?? 'invalid config'}${more}`);
}
