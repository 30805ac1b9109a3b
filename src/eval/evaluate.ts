import * as fs from 'node:fs';
import * as path from 'node:path';
import { encodePng, type RgbImage } from '../data/image';
import { sideBySide } from '../data/imageLayout';
import type { FaceLandmarker } from '../data/landmarks/landmarker';
import { POINT_COUNT, type Points } from '../data/landmarks/points';
import { landmarkImageBytes } from '../data/landmarks/rasterise';
import { splitVideos } from '../data/episodes/split';
import { checkStoreServes, pointsAt, readFrameAt } from '../data/store/framesAtSize';
import { DatasetStore } from '../data/store/store';
import { UserError } from '../errors';
import type { Logger } from '../log';
import type { ContentTerm } from '../losses/contentLoss';
import { printable } from '../oneLine';
import { packageVersion } from '../packageVersion';
import type { Progress } from '../progress';
import type { MetaCheckpoint } from '../train/metaCheckpoint';
import { contentTermsFor } from '../train/runParts';
import { writeFileAtomically } from '../fileSystem';
import { BASELINES, baselineOutputs } from './baselines';
import {
  shotCountResults,
  videoResult,
  markdownReport,
  type EvaluationReport,
  type UnitRecord,
} from './evaluationReport';
import {
  fileStem,
  planEvaluation,
  unitVideos,
  type EvaluationPlan,
  type EvaluationUnit,
  type PlanVideo,
} from './evaluationPlan';
import type { FidInception } from './fid/inception';
import { FidFeatureStore, fidResults } from './fidFeatures';
import { METRICS, scoreMethods, type FrameScorer } from './frameScores';
import { IdentitySimilarity } from './identitySimilarity';
import { LandmarkError, type LandmarkReference } from './landmarkError';
import { modelOutputs } from './modelOutputs';
import { readUnitRecords, appendUnitRecord, UNITS_FILE } from './unitRecords';

export const SETTINGS_FILE = 'evaluation.json';
export const REPORT_JSON = 'report.json';
export const REPORT_MARKDOWN = 'report.md';

export interface EvaluateOptions {
  meta: MetaCheckpoint;
  store: string;
  shotCounts: number[];
  /** 0: the feed-forward model only; N > 0: also the model fine-tuned N epochs on the shots. */
  finetuneEpochs: number;
  batchSize: number;
  /** Scales of the shots' zoomed-out copies in fine-tuning, as `finetune --zoom-out`. */
  zoomOut: readonly number[];
  targets: number;
  /** At most this many videos of the split (a seeded choice). */
  videos?: number;
  /** 'heldout': the identities the checkpoint's run held out; 'all': a store it never saw. */
  split: 'heldout' | 'all';
  /** Shots from one recording, targets from another of the same identity (evaluationPlan). */
  acrossRecordings?: boolean;
  /** Across recordings: the shots from this video only (its store key, or its name in the key). */
  shotsFrom?: string;
  /** Side-by-side PNG strips to write per shot count. */
  samples: number;
  /** pytorch-fid's Inception weights; FID is skipped without them. */
  fidWeights?: string;
  out: string;
  resume: boolean;
  seed: number;
  log: Logger;
  loadLandmarker: () => Promise<FaceLandmarker>;
  loadFidInception?: (file: string) => Promise<FidInception>;
  progress?: (total: number, start: number) => Progress;
  signal?: AbortSignal;
}

/** The methods of a run, in report order: the model's, then the baselines. */
export function methodsOf(finetuneEpochs: number): string[] {
  return [
    'feed-forward',
    ...(finetuneEpochs > 0 ? [`fine-tuned-${finetuneEpochs}`] : []),
    ...BASELINES,
  ];
}

const unitId = (u: Pick<EvaluationUnit, 'video' | 'shotVideo' | 'shots'>) =>
  `${unitVideos(u)}#${u.shots}`;

/** What must match for a resumed run to add to the same figures. */
function settingsOf(options: EvaluateOptions, storeVideos: number) {
  return {
    checkpoint: options.meta.id,
    store: path.resolve(options.store),
    storeVideos,
    split: options.split,
    acrossRecordings: options.acrossRecordings ?? false,
    shotsFrom: options.shotsFrom ?? null,
    shots: options.shotCounts,
    finetuneEpochs: options.finetuneEpochs,
    // The baselines too: a run from a version with other baselines cannot be added to.
    methods: methodsOf(options.finetuneEpochs),
    // And the metrics: a run from a version without some cannot be added to.
    metrics: METRICS.map((m) => m.name),
    batchSize: options.batchSize,
    zoomOut: [...options.zoomOut],
    targets: options.targets,
    videos: options.videos ?? null,
    seed: options.seed,
    fidWeights: options.fidWeights ? path.resolve(options.fidWeights) : null,
  };
}

/** Creates the run directory, or checks a resumed one was made with the same settings. */
async function prepareRunDirectory(
  options: EvaluateOptions,
  settings: Record<string, unknown>,
): Promise<void> {
  const { out } = options;
  const settingsFile = path.join(out, SETTINGS_FILE);
  const where = printable(out);
  if (fs.existsSync(settingsFile)) {
    if (!options.resume)
      throw new UserError(
        `${where}: already holds an evaluation; pass --resume to continue it, or choose another --out`,
      );
    let stored: Record<string, unknown>;
    try {
      stored = JSON.parse(fs.readFileSync(settingsFile, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      throw new UserError(
        `${printable(settingsFile)}: unreadable (${printable((err as Error).message)})`,
      );
    }
    for (const [key, value] of Object.entries(settings))
      if (JSON.stringify(stored[key]) !== JSON.stringify(value))
        throw new UserError(
          `${where}: an evaluation with ${key} ${JSON.stringify(stored[key])}, not ${JSON.stringify(value)}; ` +
            'resume with the same settings or choose another --out',
        );
    return;
  }
  if (options.resume)
    throw new UserError(`${where}: no evaluation to resume (no ${SETTINGS_FILE})`);
  if (fs.existsSync(out) && fs.readdirSync(out).length > 0)
    throw new UserError(`${where}: not empty and not an evaluation; choose another --out`);
  fs.mkdirSync(out, { recursive: true });
  await writeFileAtomically(
    settingsFile,
    JSON.stringify(settings, null, 2) + '\n',
    'evaluation settings',
  );
}

/** The videos of the split, checked against the checkpoint's framing. */
function splitOf(store: DatasetStore, options: EvaluateOptions) {
  const where = printable(options.store);
  if (!store.isFinalised())
    throw new UserError(`${where}: the store is unfinished (run its preprocess/synth to the end)`);
  checkStoreServes(
    store,
    options.meta.framing.size,
    `the frames the checkpoint ${printable(options.meta.dir)} was trained on`,
  );
  const index = store.index();
  const data = options.meta.trainConfig.data;
  const chosen = splitVideos(index, options.split, data);
  if (chosen.length === 0)
    throw new UserError(
      `${where}: no held-out identities (the run held out ${data.heldoutFraction} of ` +
        `${index.identities.length} identities); evaluate a store the model never saw with --split all`,
    );
  return chosen.map((i) => ({
    key: index.videos[i]!,
    identity: index.identities[index.identityOf[i]!]!,
    frames: index.frameCounts[i]!,
  }));
}

/**
 * The store key `name` means: a key of the split, or the one key whose last part (the video's
 * file name) it is.
 */
function shotVideoKey(videos: readonly PlanVideo[], name: string, storePath: string): string {
  const keys = videos.map((v) => v.key);
  if (keys.includes(name)) return name;
  const matches = keys.filter((k) => k.split('/').pop() === name);
  if (matches.length === 1) return matches[0]!;
  throw new UserError(
    `${printable(storePath)}: --shots-from ${name}: ` +
      (matches.length === 0
        ? `no such video in the split (it has ${keys.join(', ')})`
        : `ambiguous (${matches.join(', ')}); give the whole key`),
  );
}

interface UnitFrames {
  real: Uint8Array[];
  shots: { frames: Uint8Array[]; points: Points[] };
  targetPoints: Points[];
}

/** A unit's frames and landmarks at the model's size (`size`, the store's or smaller). */
async function readUnitFrames(
  store: DatasetStore,
  unit: EvaluationUnit,
  size: number,
): Promise<UnitFrames> {
  const pointsOf = (video: string) => {
    const { points } = store.getVideo(video)!;
    return (j: number) =>
      pointsAt(
        points.subarray(j * POINT_COUNT * 2, (j + 1) * POINT_COUNT * 2) as Points,
        store.settings.size,
        size,
      );
  };
  const frameOf = (video: string) => (j: number) => readFrameAt(store, video, j, size);
  const shotVideo = unit.shotVideo ?? unit.video;
  return {
    real: await Promise.all(unit.targetFrames.map(frameOf(unit.video))),
    shots: {
      frames: await Promise.all(unit.shotFrames.map(frameOf(shotVideo))),
      points: unit.shotFrames.map(pointsOf(shotVideo)),
    },
    targetPoints: unit.targetFrames.map(pointsOf(unit.video)),
  };
}

interface Tools {
  scorer: FrameScorer;
  contentTerms: ContentTerm[];
  fid?: FidFeatureStore;
}

async function loadTools(options: EvaluateOptions): Promise<Tools> {
  const identity = await IdentitySimilarity.load();
  const landmarker = await options.loadLandmarker();
  const tools: Tools = {
    scorer: { identity, landmarks: new LandmarkError(landmarker), faces: landmarker },
    contentTerms: [],
  };
  try {
    if (options.finetuneEpochs > 0)
      tools.contentTerms = await contentTermsFor(options.meta.trainConfig.loss);
    if (options.fidWeights) {
      const load = options.loadFidInception ?? (await import('./fid/inception')).loadFidInception;
      tools.fid = new FidFeatureStore(
        await load(options.fidWeights),
        path.join(options.out, 'fid'),
      );
    }
  } catch (err) {
    disposeTools(tools);
    throw err;
  }
  return tools;
}

function disposeTools(tools: Tools): void {
  tools.scorer.identity.dispose();
  tools.contentTerms.forEach((t) => t.backbone.dispose());
  tools.fid?.dispose();
}

/** One unit: the model's and the baselines' outputs for the targets, scored. */
async function evaluateUnit(
  unit: EvaluationUnit,
  frames: UnitFrames,
  tools: Tools,
  options: EvaluateOptions,
): Promise<{ record: UnitRecord; outputs: Record<string, Uint8Array[]> } | undefined> {
  const { size } = options.meta.framing;
  const model = await modelOutputs(options.meta, frames.shots, frames.targetPoints, {
    epochs: options.finetuneEpochs,
    batchSize: options.batchSize,
    zoomOut: options.zoomOut,
    seed: options.seed,
    contentTerms: tools.contentTerms,
    signal: options.signal,
  });
  if (model.interrupted) return undefined;
  const outputs: Record<string, Uint8Array[]> = {
    'feed-forward': model.feedForward,
    ...(model.finetuned && { [`fine-tuned-${options.finetuneEpochs}`]: model.finetuned }),
    ...baselineOutputs(frames.shots, frames.targetPoints),
  };
  const references: LandmarkReference[] = [];
  for (let i = 0; i < frames.real.length; i++) {
    const driver: RgbImage = { rgb: frames.real[i]!, width: size, height: size };
    references.push(await tools.scorer.landmarks.reference(driver, frames.targetPoints[i]!));
  }
  const methods = await scoreMethods(
    frames.real,
    outputs,
    references,
    frames.shots,
    size,
    tools.scorer,
  );
  await tools.fid?.add(unit, frames.real, outputs, size);
  return {
    record: {
      ...unit,
      methods,
      ...(model.finetuneSeconds !== undefined && { finetuneSeconds: model.finetuneSeconds }),
      nonFiniteSteps: model.nonFiniteSteps,
    },
    outputs,
  };
}

/** landmarks | real | each method, for the unit's first target. */
async function writeSample(
  dir: string,
  unit: EvaluationUnit,
  frames: UnitFrames,
  outputs: Record<string, Uint8Array[]>,
  methods: readonly string[],
  options: EvaluateOptions,
): Promise<string> {
  const { size, background } = options.meta.framing;
  const strip = sideBySide(
    [
      landmarkImageBytes(frames.targetPoints[0]!, { size, background }),
      frames.real[0]!,
      ...methods.map((m) => outputs[m]![0]!),
    ],
    size,
  );
  fs.mkdirSync(dir, { recursive: true });
  const name = `${fileStem(unitVideos(unit))}-frame${unit.targetFrames[0]}.png`;
  const file = path.join(dir, name);
  await writeFileAtomically(file, await encodePng(strip), 'a sample strip');
  return file;
}

export interface EvaluateResult {
  report: EvaluationReport;
  plan: EvaluationPlan;
  reportFiles: { json: string; markdown: string };
  samples: string[];
  interrupted: boolean;
}

/**
 * `talking-heads evaluate`: self-reenactment (docs/method.md, Evaluation) on the videos of a
 * store's split. Each (video, K) unit takes K shots, builds the person (feed-forward, and
 * fine-tuned when asked), draws the target frames from their own landmarks and scores them with
 * every metric, beside the copy-nearest-shot, mean-shot and warp-nearest-shot baselines. Finished
 * units are appended to units.jsonl as they finish, so Ctrl-C or a crash loses at most the unit in
 * hand and --resume goes on from there; the report is rebuilt from all finished units at the end.
 */
export async function evaluate(options: EvaluateOptions): Promise<EvaluateResult> {
  const { log, out } = options;
  const store = DatasetStore.open(options.store);
  try {
    const videos = splitOf(store, options);
    const plan = planEvaluation(videos, {
      shotCounts: options.shotCounts,
      targets: options.targets,
      maxVideos: options.videos,
      seed: options.seed,
      acrossRecordings: options.acrossRecordings,
      shotsFrom: options.shotsFrom && shotVideoKey(videos, options.shotsFrom, options.store),
    });
    if (plan.units.length === 0)
      throw new UserError(
        `${printable(options.store)}: nothing to evaluate: ${plan.skipped[0]?.video ?? 'no video'} ` +
          `${plan.skipped[0]?.reason ?? ''} (fewer --shots or --targets, or a store made with more --frames)`,
      );
    for (const s of plan.skipped) log.warn(`skipping ${s.video} at ${s.shots} shots: ${s.reason}`);
    const settings = settingsOf(options, store.index().videos.length);
    await prepareRunDirectory(options, settings);
    const unitsFile = path.join(out, UNITS_FILE);
    const done = readUnitRecords(unitsFile);
    const doneIds = new Set(done.map(unitId));
    const todo = plan.units.filter((u) => !doneIds.has(unitId(u)));
    if (done.length > 0)
      log.info(`resuming ${out}: ${done.length} of ${plan.units.length} units done`);

    const methods = methodsOf(options.finetuneEpochs);
    const tools = await loadTools(options);
    const samples: string[] = [];
    const samplesPerShots = new Map<number, number>();
    let interrupted = false;
    try {
      const progress = options.progress?.(plan.units.length, plan.units.length - todo.length);
      for (const unit of todo) {
        if (options.signal?.aborted) {
          interrupted = true;
          break;
        }
        const frames = await readUnitFrames(store, unit, options.meta.framing.size);
        const started = Date.now();
        const result = await evaluateUnit(unit, frames, tools, options);
        if (!result) {
          interrupted = true;
          break;
        }
        appendUnitRecord(unitsFile, result.record);
        done.push(result.record);
        const written = samplesPerShots.get(unit.shots) ?? 0;
        if (written < options.samples) {
          const dir = path.join(out, 'samples', `${unit.shots}-shots`);
          samples.push(await writeSample(dir, unit, frames, result.outputs, methods, options));
          samplesPerShots.set(unit.shots, written + 1);
        }
        const summary = videoResult(result.record).methods[methods[0]!]!;
        log.debug(
          `${unitId(unit)} in ${((Date.now() - started) / 1000).toFixed(1)} s: ` +
            METRICS.map((m) => `${m.name} ${summary[m.name].toFixed(4)}`).join(', '),
        );
        progress?.increment(`${unitVideos(unit)}, ${unit.shots} shots`);
      }
      progress?.stop();

      const report: EvaluationReport = {
        kind: 'talking-heads evaluation',
        version: packageVersion(),
        createdAt: new Date().toISOString(),
        checkpoint: { dir: options.meta.dir, id: options.meta.id, step: options.meta.step },
        store: options.store,
        split: options.split,
        settings,
        metrics: METRICS.map((m) => ({ ...m })),
        methods,
        complete: done.length === plan.units.length,
        unitsDone: done.length,
        unitsPlanned: plan.units.length,
        skipped: plan.skipped,
        fid: options.fidWeights
          ? { computed: true, weights: options.fidWeights }
          : {
              computed: false,
              reason:
                'no --fid-weights given: FID needs the Inception weights of pytorch-fid ' +
                '(pt_inception-2015-12-05-6726825d.pth); no other network is reported as FID',
            },
        intervals: '95% t-interval over per-video means',
        results: shotCountResults(done, options.shotCounts, methods),
        videos: done.map(videoResult),
      };
      if (tools.fid) {
        const fid = await fidResults(tools.fid, done, methods);
        for (const result of report.results) result.fid = fid.get(result.shots);
      }
      const reportFiles = {
        json: path.join(out, REPORT_JSON),
        markdown: path.join(out, REPORT_MARKDOWN),
      };
      await writeFileAtomically(
        reportFiles.json,
        JSON.stringify(report, null, 2) + '\n',
        'a report',
      );
      await writeFileAtomically(reportFiles.markdown, markdownReport(report), 'a report');
      return { report, plan, reportFiles, samples, interrupted };
    } finally {
      disposeTools(tools);
    }
  } finally {
    await store.close();
  }
}
