import type { ArgumentsCamelCase, Argv } from 'yargs';
import { DEFAULT_CROP } from '../../data/landmarks/crop';
import { STORE_FORMAT, type StoreSettings } from '../../data/store/schema';
import { UsageError } from '../options';

/** Options shared by the commands that write a store (preprocess, synth). */
export function storeSettingsOptions<T>(parser: Argv<T>) {
  return parser
    .option('size', {
      type: 'number',
      default: 256,
      describe: 'Side of the stored face crops (px)',
    })
    .option('frames', {
      type: 'number',
      default: 32,
      describe: 'Frames sampled per video, evenly spread',
    })
    .option('jpeg-quality', {
      type: 'number',
      default: 95,
      describe: 'JPEG quality of stored frames',
    })
    .check((args) => {
      for (const [name, value, min, max] of [
        ['--size', args.size, 16, 4096],
        ['--frames', args.frames, 1, 100000],
        ['--jpeg-quality', args['jpeg-quality'], 1, 100],
      ] as const) {
        if (!Number.isInteger(value) || value < min || value > max)
          throw new UsageError(`${name} must be an integer in [${min}, ${max}]`);
      }
      return true;
    });
}

/** The face framing rule; it must be the same for training data and inference inputs. */
export function cropOptions<T>(parser: Argv<T>) {
  return parser
    .option('crop-scale', {
      type: 'number',
      default: DEFAULT_CROP.scale,
      describe: "Crop side as a multiple of the landmarks' bounding box",
    })
    .option('crop-offset-y', {
      type: 'number',
      default: DEFAULT_CROP.offsetY,
      describe: 'Crop centre shift in crop sides (negative: up)',
    })
    .check((args) => {
      if (!(args['crop-scale'] > 0)) throw new UsageError('--crop-scale must be positive');
      if (!Number.isFinite(args['crop-offset-y']))
        throw new UsageError('--crop-offset-y must be a number');
      return true;
    });
}

type SettingsArgs = ArgumentsCamelCase<{
  size: number;
  frames: number;
  jpegQuality: number;
  cropScale: number;
  cropOffsetY: number;
}>;

export function settingsFromArgs(
  args: SettingsArgs,
  producer: StoreSettings['producer'],
): StoreSettings {
  return {
    format: STORE_FORMAT,
    producer,
    size: args.size,
    framesPerVideo: args.frames,
    jpegQuality: args.jpegQuality,
    crop: { scale: args.cropScale, offsetY: args.cropOffsetY },
  };
}
