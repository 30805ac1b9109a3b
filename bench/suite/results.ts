/**
 * The suite's results file (bench/results/<date>-<host>.json): what ran, on what, and how fast.
 * Every benchmark that did not run says why (`skipped`), never silently.
 */

export type PresetName = 'tiny' | 'paper';
export type SuiteMode = 'full' | 'quick' | 'smoke';

/** Wall-clock times of the timed runs, after the warm-up runs, in ms per run. */
export interface Timing {
  medianMs: number;
  minMs: number;
  maxMs: number;
  runs: number;
  warmup: number;
  /** Calls per timed run (short kernels are timed in a loop); the times are per call. */
  repeat: number;
}

export interface Measured extends Timing {
  /** The derived figure: throughput at the median time. */
  figure: number;
  unit: 'GFLOP/s' | 'frames/s';
}

export interface Skipped {
  /** One line: why it did not run, or how it failed ("does not fit: ..."). */
  skipped: string;
}

export type Outcome = Measured | Skipped;

export function isSkipped(outcome: Outcome | Skipped | object): outcome is Skipped {
  return 'skipped' in outcome;
}

/** One benchmark on one backend (or runtime), as its child process reported it. */
export interface CaseResult {
  outcome: Outcome;
  /** The child process's peak resident set size; absent when no child ran or it died. */
  peakRssMiB?: number;
  /** FLOPs of one timed run (a step, a frame), counted from the kernels it ran. */
  gflop?: number;
}

export interface Machine {
  host: string;
  cpu: string;
  cores: number;
  totalRamGiB: number;
  os: string;
  node: string;
  tfjs: string;
  onnxruntime: string | null;
  date: string;
  mode: SuiteMode;
  quick: boolean;
}

export interface BackendStatus {
  name: string;
  available: boolean;
  /** Why it is not benchmarked (unavailable, not asked for, same tfjs backend as another). */
  why?: string;
}

/** A conv of the generator: NHWC input, square-or-not kernel, stride 1, 'same' padding. */
export interface ConvShape {
  batch: number;
  height: number;
  width: number;
  inChannels: number;
  kernelHeight: number;
  kernelWidth: number;
  outChannels: number;
  /** How many convs of this shape one forward pass of G runs. */
  count: number;
}

export const CONV_PASSES = ['forward', 'backpropInput', 'backpropFilter'] as const;
export type ConvPass = (typeof CONV_PASSES)[number];

export interface ConvShapeResult {
  shape: ConvShape;
  /** FLOPs of one call of this conv (each pass costs the same). */
  gflop: number;
  results: Record<string, Record<ConvPass, Outcome>>;
}

export interface ConvLayersSection {
  preset: PresetName;
  imageSize: number;
  /** Why there are no shapes (the generator's FLOP count did not run); else absent. */
  skipped?: string;
  shapes: ConvShapeResult[];
  /** Per backend: the child's peak RSS, or why the whole case did not run. */
  processes: Record<string, { peakRssMiB?: number; skipped?: string }>;
}

export interface GeneratorFlops {
  preset: PresetName;
  imageSize: number;
  /** Absent when skipped. */
  gflopPerFrame?: number;
  /** GFLOP per kernel name. */
  byKernel?: Record<string, number>;
  /** The backend whose profile counted them (the fastest available: the count is the same). */
  countedOn?: string;
  skipped?: string;
}

/**
 * L_CNT's networks in a step: face-api's recognition net (the offline default) or the paper's
 * VGG19 + VGG-Face (random weights in their real layouts).
 */
export type ContentLossName = 'faceapi' | 'vgg';

export const CONTENT_LOSS_NAMES: Record<ContentLossName, string> = {
  faceapi: 'face-api',
  vgg: 'VGG19 + VGG-Face',
};

/** What sets a step section apart from its preset's plain row: its L_CNT and any earlier phase. */
export function stepVariantLabel(s: Pick<StepSection, 'contentLoss' | 'afterMetaSteps'>): string {
  return (
    `L_CNT ${CONTENT_LOSS_NAMES[s.contentLoss]}` +
    (s.afterMetaSteps ? `, after ${s.afterMetaSteps} meta-learning steps` : '')
  );
}

export interface StepSection {
  preset: PresetName;
  contentLoss: ContentLossName;
  /** Fine-tuning timed after this many meta-learning steps in the same process. */
  afterMetaSteps?: number;
  imageSize: number;
  /** Frames per episode given to the embedder (meta-learning only). */
  k?: number;
  batchSize: number;
  dStepsPerGStep: number;
  results: Record<string, CaseResult>;
}

export interface GeneratorFpsSection {
  preset: PresetName;
  imageSize: number;
  batchSize: number;
  /** tfjs backends by name; 'onnxruntime' (its default threads) and 'onnxruntime-1-thread'. */
  results: Record<string, CaseResult>;
}

export interface PreprocessSection {
  clipFrames: number;
  clipWidth: number;
  clipHeight: number;
  sampledFrames: number;
  size: number;
  /** outcome.figure is stored frames per second; decodedFps the frames ffmpeg decoded. */
  results: Record<string, CaseResult & { decodedFps?: number }>;
}

export interface SuiteResults {
  machine: Machine;
  backends: BackendStatus[];
  generatorFlops: GeneratorFlops[];
  convLayers: ConvLayersSection[];
  metaStep: StepSection[];
  finetuneStep: StepSection[];
  generatorFps: GeneratorFpsSection[];
  preprocess: PreprocessSection;
  /** Wall time of the whole suite. */
  seconds: number;
}
