import * as tf from '@tensorflow/tfjs';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Progress } from '../cli/progress';
import { disposeBatch, EpisodeSampler, type EpisodeBatch } from '../data/episodes/sampler';
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
 * The meta-learning stage (METHOD.md): episodes from the store -> E, G, D -> losses -> Adam, with
 * TensorBoard scalars and sample grids, held-out L1, atomic checkpoints and exact resume.
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
    const save = async () => {
      const saved = await saveCheckpoint(
        runDir,
        {
          step,
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
    const evaluate = async () => {
      summary.lastHeldoutL1 = await heldoutL1(modules, store, {
        ...samplerOptions,
        batches: config.log.evalBatches,
        seed: seed + 1,
      });
      events.scalar('eval/l1_heldout_frames', summary.lastHeldoutL1, step);
      if (evalStore) {
        summary.lastUnseenL1 = await heldoutL1(modules, evalStore, {
          ...samplerOptions,
          split: 'all',
          heldoutFrames: 0,
          batches: config.log.evalBatches,
          seed: seed + 1,
        });
        events.scalar('eval/l1_unseen_people', summary.lastUnseenL1, step);
      }
      log.info({ step, heldoutL1: summary.lastHeldoutL1, unseenL1: summary.lastUnseenL1 }, 'eval');
    };
    // The untrained model's error is the baseline the curve is read against.
    if (config.log.evalEvery > 0 && step === 0) await evaluate();
    const maxSeconds = options.maxSeconds;
    const loopStart = Date.now();
    const trainedSeconds = () => (Date.now() - loopStart) / 1000;
    const progress =
      maxSeconds === undefined
        ? options.progress?.(train.steps, step, 'steps')
        : options.progress?.(Math.ceil(maxSeconds), 0, 's');
    let nonFiniteRun = 0;
    let lastSaved = step;
    let windowStart = Date.now();
    let windowSteps = 0;
    while (step < train.steps) {
      if (options.signal?.aborted) {
        summary.interrupted = true;
        break;
      }
      if (maxSeconds !== undefined && trainedSeconds() >= maxSeconds) {
        summary.outOfTime = true;
        break;
      }
      let batch: EpisodeBatch | undefined = await sampler.next();
      const result = learner.step(batch);
      step++;
      windowSteps++;
      if (result.nonFinite) {
        nonFiniteRun++;
        log.warn(`step ${step}: non-finite ${result.nonFinite} loss; nothing was updated`);
        if (nonFiniteRun >= train.maxNonFiniteSteps) {
          disposeBatch(batch);
          throw new UserError(
            `stopped at step ${step}: ${nonFiniteRun} steps in a row had a non-finite loss ` +
              `(last: ${result.nonFinite}); the last good checkpoint in ${printable(runDir)} is intact`,
          );
        }
      } else nonFiniteRun = 0;
      summary.lastLosses = result.losses;

      if (step % config.log.scalarsEvery === 0) {
        const seconds = (Date.now() - windowStart) / 1000;
        events.scalars(
          {
            ...Object.fromEntries(Object.entries(result.losses).map(([k, v]) => [`loss/${k}`, v])),
            'score/real': result.scores.real,
            'score/fake': result.scores.fake,
            ...Object.fromEntries(
              Object.entries(result.gradientNorms).map(([k, v]) => [`grad_norm/${k}`, v]),
            ),
            'lr/embedder_generator': train.lrEmbedderGenerator,
            'lr/discriminator': train.lrDiscriminator,
            'perf/steps_per_second': windowSteps / seconds,
            // A leak shows here first: both stay flat over a healthy run.
            'perf/tensors': tf.memory().numTensors,
            'perf/heap_mib': process.memoryUsage().heapUsed / 2 ** 20,
          },
          step,
        );
        log.info({ step, ...result.losses, scores: result.scores }, 'step');
        windowStart = Date.now();
        windowSteps = 0;
      }
      if (config.log.imagesEvery > 0 && step % config.log.imagesEvery === 0) {
        const grid = sampleGrid(modules, batch, 2);
        await events.image(
          'samples/landmarks_real_generated',
          grid.rgb,
          grid.width,
          grid.height,
          step,
        );
      }
      disposeBatch(batch);
      batch = undefined;
      if (config.log.evalEvery > 0 && step % config.log.evalEvery === 0) await evaluate();
      // Never checkpoint in a run of non-finite steps: the last good checkpoint must survive.
      if (step % config.log.checkpointEvery === 0 && nonFiniteRun === 0) {
        await save();
        lastSaved = step;
      }
      const label =
        `D ${result.losses.discriminator.toFixed(3)} G ${result.losses.total.toFixed(3)}` +
        (summary.lastHeldoutL1 === undefined ? '' : ` L1 ${summary.lastHeldoutL1.toFixed(4)}`);
      if (maxSeconds === undefined) progress?.increment(label);
      else
        progress?.update(
          Math.min(Math.floor(trainedSeconds()), Math.ceil(maxSeconds)),
          `step ${step} ${label}`,
        );
    }
    progress?.stop();
    if (step !== lastSaved && nonFiniteRun === 0) await save();
    summary.step = step;
    summary.seconds = (Date.now() - started) / 1000;
    return summary;
  } finally {
    for (const close of closers.reverse()) await close();
  }
}
