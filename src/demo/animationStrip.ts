import sharp from 'sharp';
import { encodePng, type RgbImage } from '../data/image';
import { decodeFrames } from '../data/video/decode';
import { probeVideo } from '../data/video/probe';

/**
 * A still strip of a side-by-side animation (driver | landmarks | output panels): `columns`
 * moments spread over the video, the driver's panel above the output's, scaled by `zoom`.
 * What the README shows of the demo.
 */
export async function animationStrip(video: string, columns = 6, zoom = 2): Promise<Uint8Array> {
  const info = await probeVideo(video);
  const panel = info.height;
  if (info.width !== 3 * panel)
    throw new Error(`${video}: expected three square panels, got ${info.width}x${info.height}`);
  const frameCount = info.frameCount;
  const wanted = Array.from({ length: columns }, (_, c) =>
    Math.min(frameCount - 1, Math.round(((c + 0.5) * frameCount) / columns)),
  );
  const strip: RgbImage = {
    width: columns * panel,
    height: 2 * panel,
    rgb: new Uint8Array(columns * panel * 2 * panel * 3),
  };
  const copyPanel = (rgb: Uint8Array, from: number, column: number, row: number) => {
    for (let y = 0; y < panel; y++) {
      const source = (y * info.width + from * panel) * 3;
      const target = ((row * panel + y) * strip.width + column * panel) * 3;
      strip.rgb.set(rgb.subarray(source, source + panel * 3), target);
    }
  };
  let column = 0;
  for await (const frame of decodeFrames(video, { info })) {
    while (column < columns && wanted[column] === frame.index) {
      copyPanel(frame.rgb, 0, column, 0);
      copyPanel(frame.rgb, 2, column, 1);
      column++;
    }
    if (column === columns) break;
  }
  const zoomed = await sharp(strip.rgb, {
    raw: { width: strip.width, height: strip.height, channels: 3 },
  })
    .resize(strip.width * zoom, strip.height * zoom, { kernel: 'nearest' })
    .raw()
    .toBuffer();
  return encodePng({ width: strip.width * zoom, height: strip.height * zoom, rgb: zoomed });
}
