import * as tf from '@tensorflow/tfjs';
import { frameTensors } from '../data/frameTensors';
import { rasteriseLandmarks } from '../data/landmarks/rasterise';
import type { Points } from '../data/landmarks/points';
import type { ContentTerm } from '../losses/contentLoss';
import type { Generator } from '../models/generator';
import { framesToBytes } from '../train/feedForward';
import { FinetuneLearner, pickShots } from '../train/finetuneStep';
import { meanEmbedding } from '../train/meanEmbedding';
import { loadMetaNetworks, type MetaCheckpoint } from '../train/metaCheckpoint';
import { finetuneRates, finetuneStepSettings } from '../train/runParts';
import { shotBatchAt } from '../train/shotOrder';
import { withZoomedCopies } from '../train/zoomedShots';

export interface UnitShots {
  /** size x size RGB bytes, one per shot. */
  frames: readonly Uint8Array[];
  points: readonly Points[];
}

export interface FinetuneSettings {
  epochs: number;
  batchSize: number;
  /** Scales of the shots' zoomed-out copies, as `finetune --zoom-out`. */
  zoomOut: readonly number[];
  seed: number;
  /** L_CNT's terms, loaded once for the whole evaluation. */
  contentTerms: readonly ContentTerm[];
  signal?: AbortSignal;
}

export interface ModelOutputs {
  /** psi' = P·ê: the meta-learnt model with no training on the shots. */
  feedForward: Uint8Array[];
  /** After `epochs` of fine-tuning on the shots (absent with 0 epochs). */
  finetuned?: Uint8Array[];
  finetuneSeconds?: number;
  /** Fine-tuning steps whose loss was not finite (their update was skipped). */
  nonFiniteSteps: number;
  /** True if the signal stopped fine-tuning early: `finetuned` is then absent. */
  interrupted: boolean;
}

const GENERATE_BATCH = 4;

/** The generator's frames for `targets` (landmark points), as 8-bit RGB like a saved video. */
async function drawTargets(
  generator: Generator,
  targets: readonly Points[],
  background: 'black' | 'white',
): Promise<Uint8Array[]> {
  const size = generator.config.imageSize;
  const image = size * size * 3;
  const out: Uint8Array[] = [];
  for (let first = 0; first < targets.length; first += GENERATE_BATCH) {
    const part = targets.slice(first, first + GENERATE_BATCH);
    const landmarks = new Float32Array(part.length * image);
    part.forEach((p, k) => rasteriseLandmarks(p, { size, background }, landmarks, k * image));
    out.push(...(await framesToBytes(generator, landmarks, part.length)));
  }
  return out;
}

/**
 * A held-out person's self-reenactment by the model (docs/method.md, Evaluation): ê from the K
 * shots, psi' = P·ê and w' = w0 + ê, the target frames drawn from their landmarks (feed-forward),
 * then, with epochs > 0, fine-tuning exactly as `finetune` does, all in memory, and the targets
 * drawn again.
 */
export async function modelOutputs(
  meta: MetaCheckpoint,
  shots: UnitShots,
  targets: readonly Points[],
  settings: FinetuneSettings,
): Promise<ModelOutputs> {
  const { size, background } = meta.framing;
  const networks = await loadMetaNetworks(meta);
  const { generator, discriminator } = networks;
  const all = frameTensors(shots.frames, shots.points, size, background);
  let learner: FinetuneLearner | undefined;
  let trained: { frames: tf.Tensor4D; landmarks: tf.Tensor4D } | undefined;
  try {
    tf.tidy(() => {
      const e = meanEmbedding(networks.embedder, all.frames, all.landmarks);
      generator.enterFinetuning(generator.projectEmbedding(e));
      discriminator.enterFinetuning(e);
    });
    networks.embedder.dispose();
    const result: ModelOutputs = {
      feedForward: await drawTargets(generator, targets, background),
      nonFiniteSteps: 0,
      interrupted: false,
    };
    if (settings.epochs === 0) return result;

    learner = new FinetuneLearner(
      { generator, discriminator },
      finetuneStepSettings(
        meta.trainConfig,
        finetuneRates(meta.trainConfig.train),
        settings.contentTerms,
      ),
    );
    const zoomed = withZoomedCopies(shots, size, settings.zoomOut);
    trained = frameTensors(zoomed.frames, zoomed.points, size, background);
    const order = {
      shots: zoomed.frames.length,
      batchSize: settings.batchSize,
      seed: settings.seed,
    };
    // An epoch is one pass's worth of steps over the shots, as in `finetune`.
    const steps = settings.epochs * Math.ceil(shots.frames.length / order.batchSize);
    const started = Date.now();
    for (let step = 0; step < steps; step++) {
      if (settings.signal?.aborted) return { ...result, interrupted: true };
      const batch = pickShots(trained, shotBatchAt(step, order));
      try {
        if (learner.step(batch).nonFinite) result.nonFiniteSteps++;
      } finally {
        tf.dispose([batch.frames, batch.landmarks]);
      }
    }
    result.finetuneSeconds = (Date.now() - started) / 1000;
    result.finetuned = await drawTargets(generator, targets, background);
    return result;
  } finally {
    learner?.dispose();
    networks.embedder.dispose();
    generator.dispose();
    discriminator.dispose();
    tf.dispose([all.frames, all.landmarks]);
    if (trained) tf.dispose([trained.frames, trained.landmarks]);
  }
}
