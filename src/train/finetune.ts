import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import type { Progress } from '../progress';
import type { FaceLandmarker } from '../data/landmarks/landmarker';
import { meanPoints, POINT_COUNT, type Points } from '../data/landmarks/points';
import { frameTensors } from '../data/frameTensors';
import { loadPersonShots } from '../data/person';
import { UserError } from '../errors';
import type { Logger } from '../log';
import { printable } from '../oneLine';
import { listCheckpoints, loadCheckpoint, saveCheckpoint } from './checkpoint';
import {
  FinetuneLearner,
  pickShots,
  type FinetuneStepResult,
  type ShotBatch,
} from './finetuneStep';
import { meanEmbedding } from './meanEmbedding';
import { loadMetaNetworks, type MetaCheckpoint } from './metaCheckpoint';
import {
  PERSON_FILE,
  PERSON_FORMAT,
  readPersonInfo,
  readShots,
  writePersonInfo,
  writeShots,
  type PersonInfo,
  type StoredShots,
} from './personModel';
import {
  checkpointOptimizers,
  contentTermsFor,
  finetuneRates,
  finetuneStepSettings,
} from './runParts';
import { tensorGrid } from './sampleGrid';
import { withZoomedCopies } from './zoomedShots';
import { shotBatchAt } from './shotOrder';
import { EventWriter } from './tensorboard/eventWriter';
import { runTrainingLoop } from './trainingLoop';

export interface FinetuneOptions {
  meta: MetaCheckpoint;
  /** The person model directory to write (or, with `resume`, to continue). */
  out: string;
  /** A folder of photos, one photo or a video; not needed with `resume`. */
  input?: string;
  shots: number;
  /**
   * Passes' worth of steps over the shots (drawn from the shots and their zoomed copies); 0 is
   * feed-forward (psi' = P·ê, no training).
   */
  epochs: number;
  batchSize: number;
  /** Scales of the shots' zoomed-out copies (zoomedShots.ts). A resumed model keeps its own. */
  zoomOut: readonly number[];
  /** Adam's rates for G and D; by default the meta run's. A resumed model keeps its own. */
  learningRates?: { generator?: number; discriminator?: number };
  resume: boolean;
  seed: number;
  log: Logger;
  loadLandmarker: () => Promise<FaceLandmarker>;
  progress?: (total: number, start: number) => Progress;
  signal?: AbortSignal;
}

export interface FinetuneSummary {
  shots: string[];
  epochs: number;
  steps: number;
  /** Seconds of training, and per epoch (undefined when no epoch ran). */
  trainSeconds: number;
  secondsPerEpoch?: number;
  interrupted: boolean;
  lastLosses?: FinetuneStepResult['losses'];
}

/** The stored shots, one view per shot: frame bytes and points. */
function shotViews(shots: StoredShots): { frames: Uint8Array[]; points: Points[] } {
  const image = shots.size * shots.size * 3;
  const shot = Array.from({ length: shots.count }, (_, k) => k);
  return {
    frames: shot.map((k) => shots.frames.subarray(k * image, (k + 1) * image)),
    points: shot.map((k) => shots.points.subarray(k * POINT_COUNT * 2, (k + 1) * POINT_COUNT * 2)),
  };
}

/** The shots of a new person (detected, cropped as in preprocessing) packed for storing. */
async function detectShots(options: FinetuneOptions): Promise<StoredShots & { sources: string[] }> {
  const { size, crop } = options.meta.framing;
  const person = await loadPersonShots(options.input!, {
    shots: options.shots,
    size,
    crop,
    landmarker: await options.loadLandmarker(),
    log: options.log,
  });
  const count = person.frames.length;
  const frames = new Uint8Array(count * size * size * 3);
  const points = new Float32Array(count * POINT_COUNT * 2);
  person.frames.forEach((f, k) => frames.set(f.rgb, k * size * size * 3));
  person.points.forEach((p, k) => points.set(p, k * POINT_COUNT * 2));
  return { frames, points, count, size, sources: person.sources };
}

/** Refuses to continue a person model with a checkpoint it was not made from. */
function checkSameMeta(info: PersonInfo, meta: MetaCheckpoint, out: string): void {
  if (info.framing.size !== meta.framing.size)
    throw new UserError(
      `${printable(meta.dir)}: a checkpoint of ${meta.framing.size} px, but the person model in ` +
        `${printable(out)} is ${info.framing.size} px`,
    );
  if (info.metaCheckpoint.id !== meta.id)
    throw new UserError(
      `${printable(out)}: a person model from another meta checkpoint ` +
        `(${info.metaCheckpoint.id}, ${printable(info.metaCheckpoint.path)}), not ${meta.id} ` +
        `(${printable(meta.dir)})`,
    );
}

/**
 * Few-shot fine-tuning (docs/method.md): the shots are detected and framed as training frames were;
 * ê_NEW is the mean of E over them; psi' = P·ê_NEW and w' = w0 + ê_NEW; then G and D train on
 * the shots with L_CNT + L_ADV and the hinge loss. Writes a person model (personModel.ts) with
 * a checkpoint at the start (the feed-forward model), at the end and on Ctrl-C.
 */
export async function finetune(options: FinetuneOptions): Promise<FinetuneSummary> {
  const { meta, out, log, epochs } = options;
  const started = Date.now();
  const exists = fs.existsSync(`${out}/${PERSON_FILE}`);
  if (options.resume && !exists)
    throw new UserError(`${printable(out)}: no person model to resume (no ${PERSON_FILE})`);
  if (!options.resume) {
    if (exists)
      throw new UserError(
        `${printable(out)}: already holds a person model; pass --resume to continue it, or choose another --out`,
      );
    if ((await listCheckpoints(out)).length > 0)
      throw new UserError(
        `${printable(out)}: holds checkpoints but no ${PERSON_FILE} (another run, or an unfinished person model); choose another --out`,
      );
    if (!options.input) throw new Error('finetune needs the person input');
  }
  const previous = options.resume ? readPersonInfo(out) : undefined;
  if (previous) checkSameMeta(previous, meta, out);

  const detected = previous ? undefined : await detectShots(options);
  const shots = detected ?? (await readShots(out));
  const sources = previous ? previous.shots : detected!.sources;
  const views = shotViews(shots);
  // A resumed run keeps its batch size: steps per epoch, and so the epoch count, depend on it.
  const batchSize = previous
    ? previous.finetune.batchSize
    : Math.min(options.batchSize, shots.count);
  const train = meta.trainConfig.train;
  const info: PersonInfo = previous ?? {
    format: PERSON_FORMAT,
    kind: 'talking-heads person model',
    createdAt: new Date().toISOString(),
    model: meta.trainConfig.model,
    framing: meta.framing,
    meanPoints: Array.from(meanPoints(views.points)),
    shots: sources,
    metaCheckpoint: { path: meta.dir, id: meta.id, step: meta.step },
    finetune: {
      feedForward: epochs === 0,
      epochs,
      batchSize,
      zoomOut: [...options.zoomOut],
      ...finetuneRates(train),
      ...(options.learningRates?.generator && { lrGenerator: options.learningRates.generator }),
      ...(options.learningRates?.discriminator && {
        lrDiscriminator: options.learningRates.discriminator,
      }),
    },
  };
  if (previous) {
    info.finetune = {
      ...info.finetune,
      epochs,
      feedForward: epochs === 0 && previous.finetune.feedForward,
    };
  }

  const networks = await loadMetaNetworks(meta);
  const { generator, discriminator } = networks;
  const all = frameTensors(views.frames, views.points, shots.size, meta.framing.background);
  const zoomed = withZoomedCopies(views, shots.size, info.finetune.zoomOut ?? []);
  const trained = frameTensors(zoomed.frames, zoomed.points, shots.size, meta.framing.background);
  const closers: (() => Promise<void> | void)[] = [
    () => generator.dispose(),
    () => discriminator.dispose(),
    () => tf.dispose([all.frames, all.landmarks, trained.frames, trained.landmarks]),
  ];
  try {
    // ê_NEW = mean E(x_k, y_k); psi' = P·ê_NEW, w' = w0 + ê_NEW. E is not needed after this.
    // (Resuming, psi' and w' come from the person's checkpoint: only their variables are made.)
    tf.tidy(() => {
      const e = previous
        ? tf.zeros([1, meta.trainConfig.model.embeddingSize])
        : meanEmbedding(networks.embedder, all.frames, all.landmarks);
      generator.enterFinetuning(generator.projectEmbedding(e as tf.Tensor2D));
      discriminator.enterFinetuning(e);
    });
    networks.embedder.dispose();

    const contentTerms = epochs > 0 ? await contentTermsFor(meta.trainConfig.loss) : [];
    closers.push(() => contentTerms.forEach((t) => t.backbone.dispose()));
    const learner = new FinetuneLearner(
      { generator, discriminator },
      finetuneStepSettings(meta.trainConfig, info.finetune, contentTerms),
    );
    closers.push(() => learner.dispose());
    const modules = { generator, discriminator };
    const optimizers = checkpointOptimizers(learner.optimizers, modules);

    let step = 0;
    if (previous) {
      const loaded = await loadCheckpoint(out, { modules, optimizers });
      step = loaded.step;
      log.info(`resuming ${out} from step ${step}`);
    }
    const stepsPerEpoch = Math.ceil(shots.count / batchSize);
    const totalSteps = epochs * stepsPerEpoch;
    const save = async () => {
      const saved = await saveCheckpoint(
        out,
        {
          step,
          modules,
          optimizers,
          rng: { epoch: Math.floor(step / stepsPerEpoch) },
          config: JSON.stringify(info.finetune),
          data: { size: meta.framing.size, crop: meta.framing.crop },
        },
        { keep: 1 },
      );
      log.info(`person model checkpoint: ${saved.dir}`);
    };
    if (!previous) {
      fs.mkdirSync(out, { recursive: true });
      await writeShots(out, shots);
      await save(); // the feed-forward model: usable even if training is interrupted
      await writePersonInfo(out, info); // last: person.json marks a complete person model
    } else await writePersonInfo(out, info);

    const summary: FinetuneSummary = {
      shots: sources,
      epochs: 0,
      steps: 0,
      trainSeconds: 0,
      interrupted: false,
    };
    if (step < totalSteps) {
      const events = await EventWriter.create(out);
      closers.push(() => events.close());
      const progress = options.progress?.(totalSteps, step);
      const trainStarted = Date.now();
      const startStep = step;
      const end = await runTrainingLoop({
        from: step,
        to: totalSteps,
        batch: (done) =>
          pickShots(
            trained,
            shotBatchAt(done, { shots: zoomed.frames.length, batchSize, seed: options.seed }),
          ),
        learn: (batch) => learner.step(batch),
        dispose: (batch) => tf.dispose([batch.frames, batch.landmarks]),
        maxNonFiniteSteps: train.maxNonFiniteSteps,
        lastGoodState: `the person model in ${printable(out)} keeps its last good state`,
        log,
        signal: options.signal,
        scalars: { events, every: 1 },
        afterStep: async (at) => {
          if (at % stepsPerEpoch === 0 && (at / stepsPerEpoch) % 10 === 0)
            await writeSamples(events, modules, all, at);
        },
        progress: (at, losses) =>
          progress?.increment(`epoch ${Math.ceil(at / stepsPerEpoch)}/${epochs} ${losses}`),
      });
      progress?.stop();
      step = end.step;
      summary.interrupted = end.interrupted;
      if (end.last) summary.lastLosses = end.last.losses;
      summary.steps = step - startStep;
      summary.trainSeconds = (Date.now() - trainStarted) / 1000;
      const epochsRun = summary.steps / stepsPerEpoch;
      if (summary.steps > 0) {
        summary.secondsPerEpoch = summary.trainSeconds / epochsRun;
        if (end.nonFiniteStreak === 0) await save();
        await writeSamples(events, modules, all, step);
      }
    }
    summary.epochs = Math.floor(step / stepsPerEpoch);
    log.debug(`fine-tuning took ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return summary;
  } finally {
    for (const close of closers.reverse()) await close();
  }
}

/** Landmark image | shot | generated, for the first shots, as a TensorBoard image. */
async function writeSamples(
  events: EventWriter,
  modules: { generator: import('../models/generator').Generator },
  all: ShotBatch,
  step: number,
): Promise<void> {
  const generated = tf.tidy(() => modules.generator.generate(all.landmarks));
  try {
    const grid = tensorGrid([all.landmarks, all.frames, generated], 4);
    await events.image('samples/landmarks_shot_generated', grid.rgb, grid.width, grid.height, step);
  } finally {
    generated.dispose();
  }
}
