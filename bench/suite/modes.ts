import type { PresetName, SuiteMode } from './results';

/** The training settings a step is timed at. */
export interface StepSettings {
  k: number;
  batchSize: number;
  dStepsPerGStep: number;
}

/** How much work each mode does, and how long it lets any one case take. */
export interface ModeSettings {
  mode: SuiteMode;
  /** Presets benchmarked; the others are recorded as skipped. */
  presets: readonly PresetName[];
  /** Timed runs per figure, after the warm-up. */
  runs: number;
  /** Warm-up runs (at least one) until this long has passed. */
  warmupMs: number;
  /** A step or frame shorter than this is repeated within each timed run. */
  runMs: number;
  /** A conv call shorter than this is repeated within each timed run, so the clock resolves it. */
  convRunMs: number;
  /** A case whose estimated time is above this is skipped, with the estimate as the reason. */
  caseCapSeconds: number;
  /** The same for one conv shape (all three passes). */
  shapeCapSeconds: number;
  /** The whole suite's time limit (quick mode); later cases are skipped when it is near. */
  deadlineSeconds?: number;
  /** A child process still running after this is killed and its case recorded as stopped. */
  childTimeoutSeconds: number;
  /** Meta-learning steps; fine-tuning steps take the same batch size and D steps. */
  steps: Record<PresetName, StepSettings>;
  preprocess: { clipFrames: number; sampledFrames: number; runs: number };
  /** Meta-learning steps (tiny) run before the second-phase fine-tuning case is timed. */
  afterMetaSteps: number;
}

/**
 * tiny: the settings of configs/tiny.yaml (K = 4, batch 2, one D step per G step); paper: K = 8,
 * batch 1 and the paper's two D steps per G step.
 */
const TRAINING_STEPS: Record<PresetName, StepSettings> = {
  tiny: { k: 4, batchSize: 2, dStepsPerGStep: 1 },
  paper: { k: 8, batchSize: 1, dStepsPerGStep: 2 },
};

export const MODES: Record<SuiteMode, ModeSettings> = {
  full: {
    mode: 'full',
    presets: ['tiny', 'paper'],
    runs: 5,
    warmupMs: 6000,
    runMs: 200,
    convRunMs: 100,
    caseCapSeconds: 900,
    shapeCapSeconds: 120,
    childTimeoutSeconds: 1800,
    steps: TRAINING_STEPS,
    // 5 s clips at 25 fps, as `npm run bench:data`.
    preprocess: { clipFrames: 125, sampledFrames: 32, runs: 5 },
    afterMetaSteps: 500,
  },
  quick: {
    mode: 'quick',
    presets: ['tiny', 'paper'],
    runs: 3,
    warmupMs: 3000,
    runMs: 100,
    convRunMs: 20,
    caseCapSeconds: 45,
    shapeCapSeconds: 8,
    // Five minutes with room for starting up and writing the files.
    deadlineSeconds: 280,
    childTimeoutSeconds: 150,
    steps: TRAINING_STEPS,
    preprocess: { clipFrames: 50, sampledFrames: 16, runs: 3 },
    afterMetaSteps: 100,
  },
  // For the suite's own test: every code path, the least work.
  smoke: {
    mode: 'smoke',
    presets: ['tiny'],
    runs: 2,
    warmupMs: 200,
    runMs: 20,
    convRunMs: 2,
    caseCapSeconds: 6,
    shapeCapSeconds: 1,
    childTimeoutSeconds: 60,
    steps: { tiny: { k: 2, batchSize: 1, dStepsPerGStep: 1 }, paper: TRAINING_STEPS.paper },
    preprocess: { clipFrames: 12, sampledFrames: 4, runs: 2 },
    afterMetaSteps: 2,
  },
};

export const PRESET_SIZES: Record<PresetName, number> = { tiny: 64, paper: 256 };
