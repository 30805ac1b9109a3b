import sharp from 'sharp';
import { encodePng, type RgbImage } from '../data/image';
import { decodeFrames } from '../data/video/decode';
import { probeVideo } from '../data/video/probe';

/**
 * A still strip of side-by-side animations by one driver (driver | landmarks | output panels):
 * `columns` moments spread over the driver, its panel in the first row and each video's output
 * in a row below, scaled by `zoom`. What the README shows of the demo.
 */
export async function animationStrip(
  videos: readonly string[],
  columns = 6,
  zoom = 2,
): Promise<Uint8Array> {
  const infos = await Promise.all(videos.map((video) => probeVideo(video)));
  const info = infos[0]!;
  const panel = info.height;
  for (const [i, { width, height, frameCount }] of infos.entries()) {
    if (width !== 3 * panel || height !== panel)
      throw new Error(`${videos[i]}: expected three ${panel} px panels, got ${width}x${height}`);
    if (frameCount !== info.frameCount)
      throw new Error(
        `${videos[i]}: ${frameCount} frames, not ${info.frameCount} like ${videos[0]}`,
      );
  }
  const frameCount = info.frameCount;
  const wanted = Array.from({ length: columns }, (_, c) =>
    Math.min(frameCount - 1, Math.round(((c + 0.5) * frameCount) / columns)),
  );
  const strip: RgbImage = {
    width: columns * panel,
    height: (1 + videos.length) * panel,
    rgb: new Uint8Array(columns * panel * (1 + videos.length) * panel * 3),
  };
  const copyPanel = (rgb: Uint8Array, from: number, column: number, row: number) => {
    for (let y = 0; y < panel; y++) {
      const source = (y * info.width + from * panel) * 3;
      const target = ((row * panel + y) * strip.width + column * panel) * 3;
      strip.rgb.set(rgb.subarray(source, source + panel * 3), target);
    }
  };
  for (const [v, video] of videos.entries()) {
    let column = 0;
    for await (const frame of decodeFrames(video, { info: infos[v] })) {
      while (column < columns && wanted[column] === frame.index) {
        if (v === 0) copyPanel(frame.rgb, 0, column, 0);
        copyPanel(frame.rgb, 2, column, 1 + v);
        column++;
      }
      if (column === columns) break;
    }
  }
  const zoomed = await sharp(strip.rgb, {
    raw: { width: strip.width, height: strip.height, channels: 3 },
  })
    .resize(strip.width * zoom, strip.height * zoom, { kernel: 'nearest' })
    .raw()
    .toBuffer();
  return encodePng({ width: strip.width * zoom, height: strip.height * zoom, rgb: zoomed });
}
