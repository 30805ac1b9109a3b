import * as tf from '@tensorflow/tfjs';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Progress } from '../progress';
import { disposeBatch, EpisodeSampler } from '../data/episodes/sampler';
import { assertNoHeldOut } from '../data/corpus/heldOutGuard';
import { checkStoreServes } from '../data/store/framesAtSize';
import { DatasetStore } from '../data/store/store';
import { UserError } from '../errors';
import type { Logger } from '../log';
import { Discriminator } from '../models/discriminator';
import { Embedder } from '../models/embedder';
import { Generator } from '../models/generator';
import { printable } from '../oneLine';
import { listCheckpoints, loadCheckpoint, saveCheckpoint } from './checkpoint';
import type { TrainConfig } from './config';
import { heldoutL1 } from './heldoutL1';
import { adamFor, checkpointOptimizers, contentTermsFor } from './runParts';
import { MetaLearner, type MetaNetworks, type MetaStepResult } from './metaStep';
import { sampleGrid } from './sampleGrid';
import { EventWriter } from './tensorboard/eventWriter';
import { runTrainingLoop } from './trainingLoop';

export interface TrainMetaOptions {
  config: TrainConfig;
  /** The resolved config as YAML: written into the run directory and every checkpoint. */
  configYaml: string;
  store: string;
  runDir: string;
  resume: boolean;
  log: Logger;
  /** A bar over steps, or over seconds when maxSeconds bounds the run. */
  progress?: (total: number, start: number, unit: 'steps' | 's') => Progress;
  /**
   * Stop after the step that passes this many seconds of training in this invocation (set-up
   * and the first evaluation not counted), save a checkpoint and return; train.steps still caps.
   */
  maxSeconds?: number;
  /** Aborted by Ctrl-C or SIGTERM: the run saves a checkpoint and returns. */
  signal?: AbortSignal;
  /** Called once the networks are built (and loaded, on resume): tests use it to inject faults. */
  onNetworksReady?: (networks: MetaNetworks) => void;
}

export interface TrainMetaSummary {
  startStep: number;
  step: number;
  seconds: number;
  interrupted: boolean;
  /** Stopped by maxSeconds before train.steps. */
  outOfTime: boolean;
  lastLosses?: MetaStepResult['losses'];
  lastHeldoutL1?: number;
  /** Feed-forward L1 on data.evalStore's people, when the config names one. */
  lastUnseenL1?: number;
}

/**
 * The meta-learning stage (docs/method.md): episodes from the store -> E, G, D -> losses -> Adam,
 * with TensorBoard scalars and sample grids, held-out L1, atomic checkpoints and exact resume.
 */
export async function trainMeta(options: TrainMetaOptions): Promise<TrainMetaSummary> {
  const { config, log, runDir } = options;
  const started = Date.now();
  const store = DatasetStore.open(options.store);
  const closers: (() => Promise<void> | void)[] = [() => store.close()];
  try {
    const index = store.index();
    if (index.videos.length === 0)
      throw new UserError(`${printable(options.store)}: the store holds no videos`);
    await assertNoHeldOut(store);
    checkStoreServes(store, config.model.imageSize, "the config's model.imageSize");
    const evalStore = config.data.evalStore ? DatasetStore.open(config.data.evalStore) : undefined;
    if (evalStore) {
      closers.push(() => evalStore.close());
      checkStoreServes(evalStore, config.model.imageSize, "the config's model.imageSize");
    }
    const existing = await listCheckpoints(runDir);
    if (existing.length > 0 && !options.resume)
      throw new UserError(
        `${printable(runDir)}: already holds checkpoints; pass --resume to continue it, or choose another --out`,
      );
    if (options.resume && existing.length === 0)
      throw new UserError(`${printable(runDir)}: no checkpoint to resume from`);

    const { train, data, loss } = config;
    const seed = train.seed;
    const modules = {
      // One seed for all three: each weight's own comes from its path (weightSeed).
      embedder: new Embedder(config.model, { seed }),
      generator: new Generator(config.model, { seed }),
      discriminator: new Discriminator(config.model, index.videos.length, { seed }),
    };
    closers.push(() => Object.values(modules).forEach((m) => m.dispose()));
    const contentTerms = await contentTermsFor(loss);
    closers.push(() => contentTerms.forEach((t) => t.backbone.dispose()));
    const learner = new MetaLearner(modules, {
      embedderGenerator: adamFor(train, train.lrEmbedderGenerator),
      discriminator: adamFor(train, train.lrDiscriminator),
      dStepsPerGStep: train.dStepsPerGStep,
      lossWeights: loss,
      contentTerms,
      gradientClip: train.gradientClip ?? undefined,
    });
    closers.push(() => learner.dispose());
    const optimizers = checkpointOptimizers(learner.optimizers, modules);
    const columnState = learner.columnAdam;

    let step = 0;
    if (options.resume) {
      const loaded = await loadCheckpoint(runDir, {
        modules,
        optimizers,
        extra: { 'W.adam_m': columnState.m, 'W.adam_v': columnState.v },
      });
      step = loaded.step;
      const rng = loaded.rng as { columnSteps?: number[] };
      if (rng.columnSteps?.length === columnState.steps.length)
        columnState.steps.set(rng.columnSteps);
      log.info(`resuming ${runDir} from step ${step} (${loaded.dir})`);
    } else {
      fs.mkdirSync(runDir, { recursive: true });
      fs.writeFileSync(path.join(runDir, 'config.yaml'), options.configYaml);
    }
    const startStep = step;
    options.onNetworksReady?.(modules);
    const save = async (at: number) => {
      const saved = await saveCheckpoint(
        runDir,
        {
          step: at,
          modules,
          optimizers,
          extra: { 'W.adam_m': columnState.m, 'W.adam_v': columnState.v },
          rng: { columnSteps: Array.from(columnState.steps) },
          config: options.configYaml,
          // Fine-tuning and animation must frame new faces exactly as these frames were.
          data: { size: config.model.imageSize, crop: store.settings.crop },
        },
        { keep: config.log.keepCheckpoints },
      );
      log.info(`checkpoint: ${saved.dir}`);
    };

    const samplerOptions = {
      k: data.k,
      batchSize: train.batchSize,
      split: 'train' as const,
      heldoutFraction: data.heldoutFraction,
      splitSeed: data.splitSeed,
      heldoutFrames: data.heldoutFrames,
      background: data.background,
      imageSize: config.model.imageSize,
    };
    const sampler = new EpisodeSampler(store, {
      ...samplerOptions,
      seed,
      flip: data.flip,
      prefetch: data.prefetch,
    });
    closers.push(() => sampler.close());
    // The run's episodes are one sequence from the seed: skipping those already trained on
    // makes a resumed run see exactly what an uninterrupted one would.
    sampler.skip(step);
    const events = await EventWriter.create(runDir);
    closers.push(() => events.close());

    const summary: TrainMetaSummary = {
      startStep,
      step,
      seconds: 0,
      interrupted: false,
      outOfTime: false,
    };
    const evaluate = async (at: number) => {
      summary.lastHeldoutL1 = await heldoutL1(modules, store, {
        ...samplerOptions,
        batches: config.log.evalBatches,
        seed: seed + 1,
      });
      events.scalar('eval/l1_heldout_frames', summary.lastHeldoutL1, at);
      if (evalStore) {
        summary.lastUnseenL1 = await heldoutL1(modules, evalStore, {
          ...samplerOptions,
          split: 'all',
          heldoutFrames: 0,
          batches: config.log.evalBatches,
          seed: seed + 1,
        });
        events.scalar('eval/l1_unseen_people', summary.lastUnseenL1, at);
      }
      log.info(
        { step: at, heldoutL1: summary.lastHeldoutL1, unseenL1: summary.lastUnseenL1 },
        'eval',
      );
    };
    // The untrained model's error is the baseline the curve is read against.
    if (config.log.evalEvery > 0 && step === 0) await evaluate(step);
    const maxSeconds = options.maxSeconds;
    const loopStart = Date.now();
    const trainedSeconds = () => (Date.now() - loopStart) / 1000;
    const progress =
      maxSeconds === undefined
        ? options.progress?.(train.steps, step, 'steps')
        : options.progress?.(Math.ceil(maxSeconds), 0, 's');
    let lastSaved = step;
    let window = { start: Date.now(), step };
    const end = await runTrainingLoop({
      from: step,
      to: train.steps,
      batch: () => sampler.next(),
      learn: (batch) => learner.step(batch),
      dispose: disposeBatch,
      maxNonFiniteSteps: train.maxNonFiniteSteps,
      lastGoodState: `the last good checkpoint in ${printable(runDir)} is intact`,
      log,
      signal: options.signal,
      outOfTime: () => maxSeconds !== undefined && trainedSeconds() >= maxSeconds,
      scalars: {
        events,
        every: config.log.scalarsEvery,
        log: true,
        extra: (at) => {
          const stepsPerSecond = (at - window.step) / ((Date.now() - window.start) / 1000);
          window = { start: Date.now(), step: at };
          return {
            'lr/embedder_generator': train.lrEmbedderGenerator,
            'lr/discriminator': train.lrDiscriminator,
            'perf/steps_per_second': stepsPerSecond,
            // A leak shows here first: both stay flat over a healthy run.
            'perf/tensors': tf.memory().numTensors,
            'perf/heap_mib': process.memoryUsage().heapUsed / 2 ** 20,
          };
        },
      },
      withBatch: async (at, _result, batch) => {
        if (config.log.imagesEvery > 0 && at % config.log.imagesEvery === 0) {
          const grid = sampleGrid(modules, batch, 2);
          await events.image(
            'samples/landmarks_real_generated',
            grid.rgb,
            grid.width,
            grid.height,
            at,
          );
        }
      },
      afterStep: async (at, result) => {
        summary.lastLosses = result.losses;
        if (config.log.evalEvery > 0 && at % config.log.evalEvery === 0) await evaluate(at);
        // Never checkpoint in a run of non-finite steps: the last good checkpoint must survive.
        if (at % config.log.checkpointEvery === 0 && !result.nonFinite) {
          await save(at);
          lastSaved = at;
        }
      },
      progress: (at, losses) => {
        const label =
          losses +
          (summary.lastHeldoutL1 === undefined ? '' : ` L1 ${summary.lastHeldoutL1.toFixed(4)}`);
        if (maxSeconds === undefined) progress?.increment(label);
        else
          progress?.update(
            Math.min(Math.floor(trainedSeconds()), Math.ceil(maxSeconds)),
            `step ${at} ${label}`,
          );
      },
    });
    progress?.stop();
    step = end.step;
    summary.interrupted = end.interrupted;
    summary.outOfTime = end.outOfTime;
    if (step !== lastSaved && end.nonFiniteStreak === 0) await save(step);
    summary.step = step;
    summary.seconds = (Date.now() - started) / 1000;
    return summary;
  } finally {
    for (const close of closers.reverse()) await close();
  }
}
