import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CommandContext } from '../cli/context';
import { DatasetStore } from '../data/store/store';
import type { TrainConfig } from '../train/config';
import { demoCast } from './demoCast';
import type { DemoStage, DemoState } from './runDemo';

/** The demo's fixed choices: sized so that the whole run fits in 15 minutes on two cores. */
export interface DemoSettings {
  /** The meta-learning config, and `--set` overrides of it. */
  config: string;
  configOverrides: string[];
  /** Synthetic corpus: frames per clip (at the config's image size), clips per identity. */
  corpusFrames: number;
  clipsPerIdentity: number;
  /** The person's and the driver's videos: size (px) and frames (25 fps). */
  videoSize: number;
  personFrames: number;
  driverFrames: number;
  shots: number;
  finetuneEpochs: number;
  /** Fine-tuning epochs of evaluate's fine-tuned method (0: feed-forward only). */
  evaluateEpochs: number;
  evaluateTargets: number;
}

export const DEMO_SETTINGS: Readonly<DemoSettings> = {
  config: 'tiny',
  // Four times tiny's widths: a step takes ~2.5x as long (face-api's L_CNT dominates tiny's
  // step), but in the demo's minutes the wider generator gives a recognisable likeness where
  // tiny's own (4 channels at 64 px) gave a blob.
  configOverrides: ['model.baseWidth=32', 'model.maxWidth=128'],
  corpusFrames: 64,
  clipsPerIdentity: 2,
  videoSize: 256,
  personFrames: 100,
  driverFrames: 125,
  shots: 8,
  finetuneEpochs: 25,
  evaluateEpochs: 5,
  evaluateTargets: 8,
};

/** Where the demo puts each thing under its --out. */
export function demoFiles(out: string) {
  const at = (...parts: string[]) => path.join(out, ...parts);
  return {
    corpus: at('corpus'),
    person: at('videos', 'person.mp4'),
    driver: at('videos', 'driver.mp4'),
    run: at('meta'),
    personModel: at('person'),
    animation: at('animation.mp4'),
    onnx: at('person.onnx'),
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
 * process) except the driver videos. A stage that finds its output from a stopped run resumes it.
 */
export function demoStages(options: {
  files: DemoFiles;
  settings: DemoSettings;
  config: TrainConfig;
  state: DemoState;
  cli: (argv: string[]) => Promise<number>;
  ctx: Pick<CommandContext, 'stdout' | 'stderr' | 'initBackend' | 'progress'>;
}): DemoStage[] {
  const { files, settings, config, state, cli, ctx } = options;
  const configArgs = settings.configOverrides.flatMap((o) => ['--set', o]);
  return [
    {
      name: 'synth',
      describe: `${settings.corpusFrames}-frame, ${config.model.imageSize} px synthetic clips from the face-api sample photos`,
      run: () =>
        cli([
          'synth',
          '--out',
          files.corpus,
          '--size',
          String(config.model.imageSize),
          '--frames',
          String(settings.corpusFrames),
          '--clips',
          String(settings.clipsPerIdentity),
        ]),
    },
    {
      name: 'videos',
      describe: "the held-out person's video and another identity's driving video",
      run: async () => {
        const [{ writeDemoVideos }, { loadFaceLandmarker }] = await Promise.all([
          import('./demoVideos'),
          import('../cli/loadLandmarker'),
        ]);
        await ctx.initBackend();
        const store = DatasetStore.open(files.corpus);
        try {
          const cast = demoCast(store, config.data);
          await writeDemoVideos(
            cast,
            files,
            await loadFaceLandmarker(),
            settings,
            ctx.progress(2, 'videos'),
          );
          ctx.stdout.write(
            `person: ${cast.person.identity} (held out from meta-learning), ${files.person}\n` +
              `driver: ${cast.driver.identity}'s motion, ${files.driver}\n`,
          );
        } finally {
          await store.close();
        }
        return 0;
      },
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
          files.corpus,
          '--out',
          files.run,
          '--minutes',
          String(Math.max(left, 0.1)),
        ]);
      },
    },
    {
      name: 'finetune',
      describe: `${settings.shots}-shot fine-tuning on the held-out person, ${settings.finetuneEpochs} epochs`,
      run: () =>
        cli([
          'finetune',
          files.person,
          '--shots',
          String(settings.shots),
          '--epochs',
          String(settings.finetuneEpochs),
          '--checkpoint',
          files.run,
          '--out',
          files.personModel,
          ...(notEmpty(files.personModel) ? ['--resume'] : []),
        ]),
    },
    {
      name: 'animate',
      describe: 'the person driven by the other identity (driver | landmarks | output)',
      run: async () => {
        const status = await cli([
          'animate',
          '--person',
          files.personModel,
          '--driver',
          files.driver,
          '--out',
          files.animation,
          '--side-by-side',
        ]);
        if (status !== 0) return status;
        const [{ animationStrip }, { writeFileAtomically }] = await Promise.all([
          import('./animationStrip'),
          import('../writeFileAtomically'),
        ]);
        await writeFileAtomically(files.strip, await animationStrip(files.animation));
        ctx.stdout.write(`still strip: ${files.strip}\n`);
        return 0;
      },
    },
    {
      name: 'export-onnx',
      describe: "the person model's generator to ONNX, checked in onnxruntime",
      run: async () => {
        const status = await cli([
          'export-onnx',
          '--person',
          files.personModel,
          '--out',
          files.onnx,
        ]);
        return status !== 0
          ? status
          : cli(['onnx-check', files.onnx, '--against', files.personModel]);
      },
    },
    {
      name: 'evaluate',
      describe:
        `self-reenactment of the held-out identities at ${settings.shots} shots, ` +
        'with the copy-nearest-shot, mean-shot and warp-nearest-shot baselines',
      run: () =>
        cli([
          'evaluate',
          '--checkpoint',
          files.run,
          '--data',
          files.corpus,
          '--shots',
          String(settings.shots),
          '--finetune-epochs',
          String(settings.evaluateEpochs),
          '--targets',
          String(settings.evaluateTargets),
          '--split',
          'heldout',
          '--out',
          files.evaluation,
          ...(notEmpty(files.evaluation) ? ['--resume'] : []),
        ]),
    },
  ];
}
