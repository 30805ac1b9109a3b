import type { BenchBackends } from './backends';
import type { GeneratorFlopsFigures } from './cases/generatorFlops';
import type { StepFigures } from './cases/stepFigures';
import { CaseRunner } from './caseRunner';
import { convGflop } from './convShapes';
import { perSecond, type TimingPlan } from './measure';
import { MODES, PRESET_SIZES, type ModeSettings } from './modes';
import { caseEstimate, formatSeconds, RateBook, type Estimate } from './rateBook';
import {
  CONV_PASSES,
  type CaseResult,
  type ConvLayersSection,
  type ConvPass,
  type ContentLossName,
  type ConvShape,
  type GeneratorFlops,
  type GeneratorFpsSection,
  type Machine,
  type Measured,
  type Outcome,
  type PresetName,
  type PreprocessSection,
  type StepSection,
  type SuiteMode,
  type SuiteResults,
  type Timing,
  stepVariantLabel,
} from './results';
import type { ChildDone, ChildFailed } from './runChild';

const PRESETS: readonly PresetName[] = ['tiny', 'paper'];
const ONNX_RUNTIMES = [
  { name: 'onnxruntime', threads: undefined },
  { name: 'onnxruntime-1-thread', threads: 1 },
] as const;
/** The preprocessing clip: a 320x360 face video, stored at 256 px as training data is. */
const CLIP = { width: 320, height: 360, size: 256 };

function measured(timing: Timing, amount: number, unit: Measured['unit']): Measured {
  return { ...timing, figure: perSecond(amount, timing.medianMs), unit };
}

function failed(result: ChildFailed): CaseResult {
  return { outcome: { skipped: result.skipped }, peakRssMiB: result.peakRssMiB };
}

const skip = (reason: string): CaseResult => ({ outcome: { skipped: reason } });

/**
 * The suite in one pass, every case in its own child process, one after another, on every
 * benchmarked backend, so that ratios between backends come from one run. Cheap cases go first:
 * their rates estimate the heavy ones, which are skipped with the estimate as the reason when
 * they would take too long for the mode.
 */
class Suite {
  private readonly runner: CaseRunner;
  private readonly rates = new RateBook();
  private readonly flops = new Map<PresetName, GeneratorFlopsFigures>();
  private readonly results: Omit<SuiteResults, 'preprocess' | 'seconds'> & {
    preprocess?: PreprocessSection;
  };

  constructor(
    private readonly mode: ModeSettings,
    machine: Machine,
    private readonly backends: BenchBackends,
    progress: (line: string) => void,
  ) {
    this.runner = new CaseRunner(mode, progress);
    this.results = {
      machine,
      backends: backends.statuses,
      generatorFlops: [],
      convLayers: [],
      metaStep: [],
      finetuneStep: [],
      generatorFps: [],
    };
  }

  async run(): Promise<SuiteResults> {
    for (const preset of PRESETS) await this.generatorFlops(preset);
    await this.convLayers('tiny');
    await this.generatorFps('tiny');
    await this.step('metaStep', 'tiny');
    await this.step('finetuneStep', 'tiny');
    await this.step('finetuneStep', 'tiny', { afterMetaSteps: this.mode.afterMetaSteps });
    await this.preprocess();
    await this.generatorFps('paper');
    await this.convLayers('paper');
    await this.step('metaStep', 'paper');
    await this.step('metaStep', 'paper', { contentLoss: 'vgg' });
    await this.step('finetuneStep', 'paper');
    return {
      ...this.results,
      preprocess: this.results.preprocess!,
      seconds: this.runner.elapsedSeconds(),
    };
  }

  private get runs(): number {
    return this.mode.runs;
  }

  /** How the step and frame cases are timed in this mode. */
  private get plan(): TimingPlan {
    const { runs, warmupMs, runMs } = this.mode;
    return { runs, warmupMs, runMs };
  }

  /** Why a preset is not benchmarked in this mode; undefined when it is. */
  private presetSkipped(preset: PresetName): string | undefined {
    return this.mode.presets.includes(preset)
      ? undefined
      : `${this.mode.mode} mode runs the ${this.mode.presets.join(', ')} preset only`;
  }

  private async generatorFlops(preset: PresetName): Promise<void> {
    const entry: GeneratorFlops = { preset, imageSize: PRESET_SIZES[preset] };
    const skipped = this.presetSkipped(preset);
    const result = skipped
      ? { skipped }
      : await this.runner.run(`generator FLOPs, ${preset}`, 'generatorFlops', {
          backend: this.backends.counting,
          preset,
        });
    if ('skipped' in result) entry.skipped = result.skipped;
    else {
      this.flops.set(preset, result.figures);
      entry.gflopPerFrame = result.figures.gflopPerFrame;
      entry.byKernel = result.figures.byKernel;
      entry.countedOn = this.backends.counting;
    }
    this.results.generatorFlops.push(entry);
  }

  /** All three passes of one conv shape, warm-up and calibration calls included. */
  private shapeEstimate(backend: string, shape: ConvShape): Estimate | undefined {
    const gflop = convGflop(shape);
    const rates = CONV_PASSES.flatMap((p) => this.rates.passRate(backend, p) ?? []);
    if (rates.length < CONV_PASSES.length) return undefined;
    const calls = 2 + this.runs;
    let seconds = 0;
    for (const rate of rates) seconds += calls * Math.max(gflop / rate, this.mode.convRunMs / 1000);
    const shown = rates.map(formatSeconds).join(', ');
    return {
      seconds,
      basis: `${calls} calls of each pass of ${formatSeconds(gflop)} GFLOP at the best rates measured on ${backend}, ${shown} GFLOP/s`,
    };
  }

  /**
   * Which shapes of `section` to time on `backend`: cheapest first, each within the per-shape
   * cap, all together within the per-case cap and the time left; the others with their reasons.
   * Before the backend has conv rates (the first conv case), every shape.
   */
  private planShapes(
    section: ConvLayersSection,
    backend: string,
  ): { included: number[]; reasons: Map<number, string> } {
    const planned = section.shapes.map((row, index) => ({
      index,
      estimate: this.shapeEstimate(backend, row.shape),
    }));
    planned.sort((a, b) => (a.estimate?.seconds ?? 0) - (b.estimate?.seconds ?? 0));
    const { caseCapSeconds, shapeCapSeconds, mode } = this.mode;
    const included: number[] = [];
    const reasons = new Map<number, string>();
    let total = 0;
    for (const { index, estimate } of planned) {
      let reason = this.runner.refusal(estimate, {
        capSeconds: shapeCapSeconds,
        capWhat: 'per conv shape',
        plannedSeconds: total,
      });
      if (!reason && estimate && total + estimate.seconds > caseCapSeconds)
        reason =
          `estimated ${formatSeconds(estimate.seconds)} s (${estimate.basis}), more than is left of ` +
          `the ${caseCapSeconds} s allowed per case in ${mode} mode after the ${formatSeconds(total)} s of the cheaper shapes`;
      if (reason) reasons.set(index, reason);
      else {
        included.push(index);
        total += estimate?.seconds ?? 0;
      }
    }
    return { included: included.sort((a, b) => a - b), reasons };
  }

  private async convLayers(preset: PresetName): Promise<void> {
    const flops = this.flops.get(preset);
    const section: ConvLayersSection = {
      preset,
      imageSize: PRESET_SIZES[preset],
      shapes: (flops?.convShapes ?? []).map((shape) => ({
        shape,
        gflop: convGflop(shape),
        results: {},
      })),
      processes: {},
    };
    this.results.convLayers.push(section);
    if (!flops) {
      const why =
        this.presetSkipped(preset) ?? "the generator's FLOP count, which lists them, did not run";
      section.skipped = why;
      for (const b of this.backends.benched) section.processes[b] = { skipped: why };
      return;
    }
    for (const backend of this.backends.benched) {
      const { included, reasons } = this.planShapes(section, backend);
      const fill = (index: number, outcome: (pass: ConvPass) => Outcome) => {
        section.shapes[index]!.results[backend] = Object.fromEntries(
          CONV_PASSES.map((p) => [p, outcome(p)]),
        ) as Record<ConvPass, Outcome>;
      };
      for (const [index, reason] of reasons) fill(index, () => ({ skipped: reason }));
      if (included.length === 0) {
        section.processes[backend] = { skipped: 'every shape skipped, each with its reason' };
        continue;
      }
      const result = await this.runner.run(
        `conv layers of G, ${preset}, ${included.length} of ${section.shapes.length} shapes, ${backend}`,
        'convLayers',
        {
          backend,
          shapes: included.map((i) => section.shapes[i]!.shape),
          runs: this.runs,
          runMs: this.mode.convRunMs,
          warmupMs: this.mode.warmupMs,
        },
      );
      if ('skipped' in result) {
        section.processes[backend] = { skipped: result.skipped, peakRssMiB: result.peakRssMiB };
        for (const index of included) fill(index, () => ({ skipped: result.skipped }));
        continue;
      }
      section.processes[backend] = { peakRssMiB: result.peakRssMiB };
      included.forEach((index, k) => {
        const gflop = section.shapes[index]!.gflop;
        const timings = result.figures.timings[k]!;
        fill(index, (pass) => {
          const m = measured(timings[pass], gflop, 'GFLOP/s');
          this.rates.noteConv(backend, pass, m.figure);
          return m;
        });
      });
    }
  }

  /** A case's result from its child, and its time per run noted for later estimates. */
  private stepResult(
    caseKey: string,
    backend: string,
    result: ChildDone<'metaStep' | 'finetuneStep' | 'generatorTfjs'> | ChildFailed,
    amount: (figures: StepFigures) => number,
    unit: Measured['unit'],
  ): CaseResult {
    if ('skipped' in result) return failed(result);
    const { timing, gflop } = result.figures;
    this.rates.noteRun(caseKey, backend, timing.medianMs);
    return {
      outcome: measured(timing, amount(result.figures), unit),
      peakRssMiB: result.peakRssMiB,
      gflop,
    };
  }

  private async generatorFps(preset: PresetName): Promise<void> {
    const batchSize = 1;
    const section: GeneratorFpsSection = {
      preset,
      imageSize: PRESET_SIZES[preset],
      batchSize,
      results: {},
    };
    this.results.generatorFps.push(section);
    const runtimes = [...this.backends.benched, ...ONNX_RUNTIMES.map((r) => r.name)];
    const skipped = this.presetSkipped(preset);
    if (skipped) {
      for (const r of runtimes) section.results[r] = skip(skipped);
      return;
    }
    const gflop = this.flops.get(preset)?.gflopPerFrame;
    const caseKey = `generator/${preset}`;
    for (const backend of this.backends.benched) {
      const perRun = this.rates.perRun(
        caseKey,
        backend,
        gflop == null ? undefined : { gflop: gflop * batchSize, what: 'one generator pass' },
      );
      const result = await this.runner.run(
        `generator frames/s, ${preset}, tfjs ${backend}`,
        'generatorTfjs',
        { backend, preset, batchSize, ...this.plan },
        perRun && caseEstimate(perRun, this.runs, this.mode.warmupMs / 1000),
      );
      section.results[backend] = this.stepResult(
        caseKey,
        backend,
        result,
        () => batchSize,
        'frames/s',
      );
    }
    for (const runtime of ONNX_RUNTIMES) {
      if (this.results.machine.onnxruntime == null) {
        section.results[runtime.name] = skip(
          'onnxruntime-node is not installed (a development dependency: npm install onnxruntime-node)',
        );
        continue;
      }
      const result = await this.runner.run(
        `generator frames/s, ${preset}, ${runtime.name}`,
        'generatorOnnx',
        {
          backend: this.backends.counting,
          preset,
          batchSize,
          ...this.plan,
          ...(runtime.threads ? { threads: runtime.threads } : {}),
        },
      );
      section.results[runtime.name] =
        'skipped' in result
          ? failed(result)
          : {
              outcome: measured(result.figures.timing, batchSize, 'frames/s'),
              peakRssMiB: result.peakRssMiB,
              ...(gflop == null ? {} : { gflop: gflop * batchSize }),
            };
    }
  }

  private async step(
    family: 'metaStep' | 'finetuneStep',
    preset: PresetName,
    variant: { contentLoss?: ContentLossName; afterMetaSteps?: number } = {},
  ): Promise<void> {
    const { contentLoss = 'faceapi', afterMetaSteps } = variant;
    const { k, batchSize, dStepsPerGStep } = this.mode.steps[preset];
    const section: StepSection = {
      preset,
      contentLoss,
      ...(afterMetaSteps ? { afterMetaSteps } : {}),
      imageSize: PRESET_SIZES[preset],
      ...(family === 'metaStep' ? { k } : {}),
      batchSize,
      dStepsPerGStep,
      results: {},
    };
    this.results[family].push(section);
    const skipped = this.presetSkipped(preset);
    const gflop = this.flops.get(preset)?.gflopPerFrame;
    const caseKey = [
      `${family}/${preset}`,
      ...(contentLoss === 'faceapi' ? [] : [contentLoss]),
      ...(afterMetaSteps ? [`after-${afterMetaSteps}`] : []),
    ].join('/');
    for (const backend of this.backends.benched) {
      if (skipped) {
        section.results[backend] = skip(skipped);
        continue;
      }
      // A step runs the generator forward and both its gradients at least: 3 passes a sample.
      const perRun = this.rates.perRun(
        caseKey,
        backend,
        gflop == null ? undefined : { gflop: 3 * gflop * batchSize, what: '3 generator passes' },
      );
      const label =
        `${family === 'metaStep' ? 'meta-learning' : 'fine-tuning'} step, ${preset}, ` +
        `${stepVariantLabel(section)}, ${backend}`;
      const estimate = perRun && caseEstimate(perRun, this.runs, this.mode.warmupMs / 1000);
      const args = { backend, preset, batchSize, dStepsPerGStep, ...this.plan };
      const result =
        family === 'metaStep'
          ? await this.runner.run(label, 'metaStep', { ...args, k, contentLoss }, estimate)
          : await this.runner.run(
              label,
              'finetuneStep',
              afterMetaSteps ? { ...args, afterMeta: { k, steps: afterMetaSteps } } : args,
              estimate,
            );
      section.results[backend] = this.stepResult(
        caseKey,
        backend,
        result,
        (f) => f.gflop,
        'GFLOP/s',
      );
    }
  }

  private async preprocess(): Promise<void> {
    const { clipFrames, sampledFrames, runs } = this.mode.preprocess;
    const section: PreprocessSection = {
      clipFrames,
      clipWidth: CLIP.width,
      clipHeight: CLIP.height,
      sampledFrames,
      size: CLIP.size,
      results: {},
    };
    this.results.preprocess = section;
    for (const backend of this.backends.benched) {
      const perRun = this.rates.perRun('preprocess', backend);
      const result = await this.runner.run(
        `preprocess frames/s, ${backend}`,
        'preprocess',
        {
          backend,
          clipFrames,
          clipWidth: CLIP.width,
          clipHeight: CLIP.height,
          sampledFrames,
          size: CLIP.size,
          ...this.plan,
          runs,
        },
        perRun && caseEstimate(perRun, runs, this.mode.warmupMs / 1000),
      );
      if ('skipped' in result) {
        section.results[backend] = failed(result);
        continue;
      }
      const { timing, framesStored, framesDecoded } = result.figures;
      this.rates.noteRun('preprocess', backend, timing.medianMs);
      section.results[backend] = {
        outcome: measured(timing, framesStored, 'frames/s'),
        decodedFps: perSecond(framesDecoded, timing.medianMs),
        peakRssMiB: result.peakRssMiB,
      };
    }
  }
}

/** Runs the whole suite in `mode` on `backends`; progress lines go to `progress`. */
export function runSuite(
  mode: SuiteMode,
  machine: Machine,
  backends: BenchBackends,
  progress: (line: string) => void,
): Promise<SuiteResults> {
  return new Suite(MODES[mode], machine, backends, progress).run();
}
