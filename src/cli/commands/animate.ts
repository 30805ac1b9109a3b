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
          'With --image: the meta-learning run or checkpoint [default: the shipped model, checkpoints/cpu128]',
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
      .option('identity-check', {
        type: 'number',
        default: 16,
        describe:
          'After writing, read this many output frames (evenly spread) with face-api: the share in which a face is detected, and verified as the person of the shots (0: off)',
      })
      .check((args) => {
        if (!Number.isInteger(args['identity-check']) || args['identity-check'] < 0)
          throw new UsageError('--identity-check must be a non-negative integer');
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
      { openPersonModel, personModelId, readPersonInfo, readShots },
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

    // The meta checkpoint (one photo) or person model first: its size and width pick auto's backend.
    const checkpoint = args.person
      ? undefined
      : await meta.openMetaCheckpoint(args.checkpoint ?? meta.defaultMetaCheckpoint());
    const model = checkpoint?.trainConfig.model ?? readPersonInfo(args.person!).model;
    await ctx.initBackend({
      kind: 'generation',
      imageSize: model.imageSize,
      baseWidth: model.baseWidth,
    });
    const landmarker = await FaceLandmarker.load();
    let person: { generator: import('../../models/generator').Generator; id: string };
    let framing: import('../../train/metaCheckpoint').TrainingFraming;
    let personPoints: Float32Array;
    let shots: import('../../eval/animationIdentity').FramesWithPoints;
    if (args.person) {
      const model = await openPersonModel(args.person);
      framing = model.info.framing;
      personPoints = Float32Array.from(model.info.meanPoints);
      person = {
        generator: model.generator,
        id: personModelId(model),
      };
      const stored = await readShots(args.person);
      const image = stored.size * stored.size * 3;
      shots = {
        size: stored.size,
        frames: Array.from({ length: stored.count }, (_, i) =>
          stored.frames.subarray(i * image, (i + 1) * image),
        ),
        points: Array.from({ length: stored.count }, (_, i) =>
          stored.points.subarray(i * 136, (i + 1) * 136),
        ),
      };
    } else {
      framing = checkpoint!.framing;
      const oneShot = await loadPersonShots(args.image!, {
        shots: 1,
        size: framing.size,
        crop: framing.crop,
        landmarker,
        log: ctx.log,
      });
      const made = await feedForwardGenerator(checkpoint!, oneShot);
      shots = {
        size: framing.size,
        frames: oneShot.frames.map((f) => f.rgb),
        points: oneShot.points,
      };
      personPoints = made.meanPoints;
      person = { generator: made.generator, id: `${checkpoint!.id}/one-shot` };
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
          samples: args['identity-check'] || undefined,
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
      if (args['identity-check'] > 0) {
        const { animationIdentity } = await import('../../eval/animationIdentity');
        const check = await animationIdentity(
          { ...summary.samples, size: framing.size },
          shots,
          landmarker,
        );
        const percent = (share: number) => `${Math.round(share * 100)} %`;
        ctx.stdout.write(
          `identity check on ${check.frames} output frames: a face detected in ` +
            `${percent(check.detected)}, verified as the person in ${percent(check.verified)} ` +
            "(face-api distance below 0.6 from the shots' mean)\n",
        );
      }
    } finally {
      person.generator.dispose();
    }
  },
});
