import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { UserError } from '../../errors';
import { printable } from '../../oneLine';
import { renameDurably, writeFileAtomically } from '../../fileSystem';
import type { FaceLandmarker } from '../landmarks/landmarker';
import { runPreprocess } from '../preprocess/runPreprocess';
import { mergeStores } from '../store/merge';
import { DatasetStore } from '../store/store';
import type { StoreSettings } from '../store/schema';
import type { StoreRunOptions } from '../storeRun';
import { runSynth, type SynthSummary } from '../synth/runSynth';
import { cutClips } from '../video/cutClips';
import { probeVideo } from '../video/probe';
import { bundledMedia, type CorpusMedia, type Role } from './bundledMedia';
import { assertNoHeldOut } from './heldOutGuard';

export interface CorpusOptions extends Omit<StoreRunOptions, 'settings'> {
  /** Store settings; each part is made with its own producer, `corpus` for the merged store. */
  settings: StoreSettings;
  /** Length of the clips a long training video is cut into, in seconds. */
  clipSeconds: number;
  /** Only the first this many clips of each long video (quick runs); all when undefined. */
  maxClips?: number;
  /** Synthetic clips per portrait face. */
  synthClips: number;
  minFrames: number;
  minFaceSize: number;
  seed: number;
  /** The media of each role [default: bundledMedia's, resolved from node_modules]. */
  media?: Record<Role, CorpusMedia>;
}

/** One store of the corpus; `failures` are the videos it recorded as unusable, with why. */
export interface StoreSummary {
  store: string;
  videos: number;
  identities: number;
  sources: string[];
  failures: string[];
}

/** What `corpus.json` records, written last: its presence means the corpus is complete. */
export interface CorpusManifest {
  settings: StoreSettings;
  clipSeconds: number;
  maxClips: number | null;
  synthClips: number;
  /** The meta-learning store: training identities only. */
  train: StoreSummary;
  /** The evaluation store of the held-out webcam speaker, and the held-out photos. */
  heldout: StoreSummary & { photos: string[] };
  /** Portrait faces synth left out, and why. */
  skipped: string[];
}

export const CORPUS_MANIFEST_FILE = 'corpus.json';

/** Where the corpus puts each part under its --out. */
export function corpusFiles(out: string) {
  const at = (...parts: string[]) => path.join(out, ...parts);
  return {
    manifest: at(CORPUS_MANIFEST_FILE),
    train: at('train'),
    heldout: at('heldout'),
    clips: at('clips'),
    heldoutVideos: at('heldout-videos'),
    work: at('.partial'),
  };
}

async function checkPhoto(file: string): Promise<void> {
  try {
    const { width, height } = await sharp(file).metadata();
    if (!width || !height) throw new Error('no image size');
  } catch (err) {
    throw new UserError(
      `${printable(file)}: damaged bundled photo (${err instanceof Error ? err.message : String(err)}); run npm ci to reinstall it`,
    );
  }
}

/**
 * The default corpus from the media bundled with the dependencies (bundledMedia.ts), in two
 * stores: `train`, for meta-learning (franck's conversation cut into clips, each a video, plus
 * synthetic clips of the training portraits), and `heldout`, the webcam speaker's two recordings
 * for evaluation. Held-out media never enter `train`, which is checked before it is published.
 *
 * Every input is resolved and probed before any work, so a missing or damaged file is a one-line
 * error naming it. Stores are built under `.partial/` and renamed into place only when finished;
 * `corpus.json` is written last. An interrupted run resumes where it stopped.
 */
export async function buildCorpus(
  options: CorpusOptions,
): Promise<{ manifest?: CorpusManifest; interrupted: boolean; alreadyBuilt: boolean }> {
  const files = corpusFiles(options.out);
  if (fs.existsSync(files.manifest))
    return {
      manifest: JSON.parse(fs.readFileSync(files.manifest, 'utf8')) as CorpusManifest,
      interrupted: false,
      alreadyBuilt: true,
    };
  const { train, heldout } = options.media ?? {
    train: bundledMedia('train'),
    heldout: bundledMedia('heldout'),
  };
  const infos = new Map<string, Awaited<ReturnType<typeof probeVideo>>>();
  for (const { file } of [...train.videos, ...heldout.videos])
    infos.set(file, await probeVideo(file));
  for (const photo of [...train.photos, ...heldout.photos]) await checkPhoto(photo);

  fs.mkdirSync(files.work, { recursive: true });
  let landmarker: Promise<FaceLandmarker> | undefined;
  const run = {
    log: options.log,
    progress: options.progress,
    signal: options.signal,
    loadLandmarker: () => (landmarker ??= options.loadLandmarker()),
  };
  const settings = (producer: StoreSettings['producer']): StoreSettings => ({
    ...options.settings,
    producer,
  });
  const preprocess = (input: string, out: string) =>
    runPreprocess({
      ...run,
      input,
      out,
      settings: settings('preprocess'),
      minFrames: options.minFrames,
      shard: 0,
      numShards: 1,
      retryFailed: false,
    });

  // Training videos: cut into clips of a few seconds, each a video of the store, laid out
  // identity/video/clip so that preprocess names them as VoxCeleb2's are named.
  for (const video of train.videos) {
    const info = infos.get(video.file)!;
    const stem = path.basename(video.file, path.extname(video.file));
    options.log.info(`cutting ${video.file} into ${options.clipSeconds} s clips`);
    await cutClips(video.file, path.join(files.clips, video.identity, stem), {
      framesPerClip: Math.round(options.clipSeconds * info.fps),
      minFrames: Math.round((options.clipSeconds * info.fps) / 2),
      maxClips: options.maxClips,
      info,
      signal: options.signal,
    });
    if (options.signal?.aborted) return { interrupted: true, alreadyBuilt: false };
  }
  const real = path.join(files.work, 'real');
  const realSummary = await preprocess(files.clips, real);
  if (realSummary.interrupted) return { interrupted: true, alreadyBuilt: false };

  const synth = path.join(files.work, 'synth');
  const synthSummary: SynthSummary = await runSynth({
    ...run,
    photos: train.photos,
    out: synth,
    settings: settings('synth'),
    clipsPerIdentity: options.synthClips,
    minFaceSize: options.minFaceSize,
    seed: options.seed,
  });
  if (synthSummary.interrupted) return { interrupted: true, alreadyBuilt: false };

  // The held-out recordings stay whole (across-recording evaluation takes shots from one and
  // targets from all of the other), copied into identity/recording.mp4.
  for (const video of heldout.videos) {
    const copy = path.join(files.heldoutVideos, video.identity, path.basename(video.file));
    fs.mkdirSync(path.dirname(copy), { recursive: true });
    if (!fs.existsSync(copy)) fs.copyFileSync(video.file, copy);
  }
  const heldoutSummary = await preprocess(files.heldoutVideos, path.join(files.work, 'heldout'));
  if (heldoutSummary.interrupted) return { interrupted: true, alreadyBuilt: false };

  const merged = path.join(files.work, 'train');
  if (!fs.existsSync(files.train)) {
    await mergeStores(merged, [real, synth], { log: options.log, producer: 'corpus' });
    await assertNoHeldOut(merged);
    await renameDurably(merged, files.train, 'a dataset store');
  }
  if (!fs.existsSync(files.heldout))
    await renameDurably(path.join(files.work, 'heldout'), files.heldout, 'a dataset store');

  const manifest: CorpusManifest = {
    settings: options.settings,
    clipSeconds: options.clipSeconds,
    maxClips: options.maxClips ?? null,
    synthClips: options.synthClips,
    train: await describeStore(files.train),
    heldout: { ...(await describeStore(files.heldout)), photos: heldout.photos },
    skipped: synthSummary.skipped,
  };
  fs.rmSync(files.work, { recursive: true, force: true });
  await writeFileAtomically(files.manifest, JSON.stringify(manifest, null, 2) + '\n');
  return { manifest, interrupted: false, alreadyBuilt: false };
}

/** Read from the finished store, so a resumed run reports what earlier runs recorded too. */
async function describeStore(dir: string): Promise<StoreSummary> {
  const store = DatasetStore.open(dir);
  try {
    const index = store.index();
    const sources = index.videos.map((key) => store.videoInfo(key)!.source);
    return {
      store: dir,
      videos: index.videos.length,
      identities: index.identities.length,
      sources: [...new Set(sources)].sort(),
      failures: store.failures().map((f) => `${f.source}: ${f.reason}`),
    };
  } finally {
    await store.close();
  }
}
