import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../../errors';
import { printable } from '../../oneLine';
import { defineCommand } from '../command';
import { stoppableByCtrlC } from '../interrupt';
import { UsageError } from '../options';

/** What every generated video says about itself (mp4 `comment` and `description`). */
export function syntheticTags(modelId: string, driver: string): Record<string, string> {
  return {
    comment: `made by talking-heads: synthetic video, model ${modelId}`,
    description:
      `Synthetic (AI-generated) video made by talking-heads with model ${modelId}, ` +
      `driven by ${path.basename(driver)}. Not a recording of a real event.`,
  };
}

export const animateCommand = defineCommand({
  command: 'animate',
  describe:
    'Animate a person from a driving video: landmarks per frame, retargeted to the person, ' +
    "generated and encoded as an mp4 at the driver's fps with its sound, tagged as synthetic",
  builder: (parser) =>
    parser
      .option('person', {
        type: 'string',
        describe: 'A person model made by `finetune`',
      })
      .option('image', {
        type: 'string',
        describe: 'One-shot instead: a portrait, animated feed-forward with --checkpoint',
      })
      .option('checkpoint', {
        type: 'string',
        describe:
          'With --image: the meta-learning run or checkpoint [default: the newest under checkpoints/]',
      })
      .option('driver', {
        alias: 'd',
        type: 'string',
        demandOption: true,
        describe: 'The driving video',
      })
      .option('out', {
        alias: 'o',
        type: 'string',
        describe: 'The mp4 to write [default: <person>-<driver>.mp4]',
      })
      .option('retarget', {
        type: 'boolean',
        default: true,
        describe:
          "Fit the driver's landmarks to the person's face scale and position (--no-retarget: use them as they are)",
      })
      .option('side-by-side', {
        type: 'boolean',
        default: false,
        describe: 'Render driver | landmarks | output',
      })
      .option('watermark', {
        type: 'boolean',
        default: false,
        describe: 'Stamp a visible AI-GENERATED mark on every frame',
      })
      .option('batch', {
        type: 'number',
        default: 4,
        describe: 'Frames generated at a time',
      })
      .option('frames', {
        type: 'number',
        describe: "Animate only the driver's first N frames (a preview) [default: all]",
      })
      .check((args) => {
        if (Boolean(args.person) === Boolean(args.image))
          throw new UsageError('give either --person PERSON_MODEL or --image PORTRAIT');
        if (args.person && args.checkpoint)
          throw new UsageError('--checkpoint goes with --image (a person model knows its own)');
        if (!Number.isInteger(args.batch) || args.batch < 1)
          throw new UsageError('--batch must be a positive integer');
        if (args.frames !== undefined && (!Number.isInteger(args.frames) || args.frames < 1))
          throw new UsageError('--frames must be a positive integer');
        return true;
      }),
  async run(args, ctx) {
    const [
      { animateVideo },
      { openPersonModel, personModelId },
      meta,
      { feedForwardGenerator, framesToBytes },
      { loadPersonShots },
      { FaceLandmarker },
    ] = await Promise.all([
      import('../../data/driver/animate'),
      import('../../train/personModel'),
      import('../../train/metaCheckpoint'),
      import('../../train/feedForward'),
      import('../../data/person'),
      import('../../data/landmarks/landmarker'),
    ]);
    const { driver } = args;
    if (!fs.existsSync(driver)) throw new UserError(`${printable(driver)}: no such file`);
    const subject = (args.person ?? args.image)!;
    const out =
      args.out ??
      `${path.basename(subject).replace(/\.[^.]+$/, '')}-${path.basename(driver).replace(/\.[^.]+$/, '')}.mp4`;
    if (path.resolve(out) === path.resolve(driver))
      throw new UserError(`${printable(out)}: the output would overwrite the driver`);

    await ctx.initBackend();
    const landmarker = await FaceLandmarker.load();
    let person: { generator: import('../../models/generator').Generator; id: string };
    let framing: import('../../train/metaCheckpoint').TrainingFraming;
    let personPoints: Float32Array;
    if (args.person) {
      const model = await openPersonModel(args.person);
      framing = model.info.framing;
      personPoints = Float32Array.from(model.info.meanPoints);
      person = {
        generator: model.generator,
        id: personModelId(model),
      };
    } else {
      const checkpoint = await meta.openMetaCheckpoint(
        args.checkpoint ?? (await meta.findLatestMetaCheckpoint()),
      );
      framing = checkpoint.framing;
      const shots = await loadPersonShots(args.image!, {
        shots: 1,
        size: framing.size,
        crop: framing.crop,
        landmarker,
        log: ctx.log,
      });
      const made = await feedForwardGenerator(checkpoint, shots);
      personPoints = made.meanPoints;
      person = { generator: made.generator, id: `${checkpoint.id}/one-shot` };
    }
    try {
      const summary = await stoppableByCtrlC(ctx.log, 'batch of frames', (signal) =>
        animateVideo({
          driver,
          out,
          size: framing.size,
          crop: framing.crop,
          background: framing.background,
          personPoints,
          retarget: args.retarget,
          sideBySide: args.sideBySide,
          watermark: args.watermark,
          metadata: syntheticTags(person.id, driver),
          render: (images, count) => framesToBytes(person.generator, images, count),
          landmarker,
          batch: args.batch,
          maxFrames: args.frames,
          log: ctx.log,
          progress: (stage, total) =>
            ctx.progress(total, stage === 'landmarks' ? 'frames tracked' : 'frames'),
          signal,
        }),
      );
      if (summary.interrupted) {
        ctx.stdout.write(`interrupted: nothing written (${printable(out)} is left as it was)\n`);
        ctx.setExitCode(130);
        return;
      }
      const { landmarks, render } = summary.seconds;
      ctx.stdout.write(
        `wrote ${out}: ${summary.frames} frames at ${summary.fps.toFixed(3)} fps` +
          `${summary.hasAudio ? " with the driver's sound" : ''}; landmarks ` +
          `${(summary.frames / landmarks).toFixed(1)} frames/s, generation ` +
          `${(summary.frames / render).toFixed(1)} frames/s\n` +
          `tagged as synthetic (model ${person.id})${args.watermark ? ', watermarked' : ''}\n`,
      );
    } finally {
      person.generator.dispose();
    }
  },
});
