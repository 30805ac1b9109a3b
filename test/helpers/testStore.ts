import * as path from 'node:path';
import { encodeJpeg } from '../../src/data/image';
import { STORE_FORMAT, type StoreSettings } from '../../src/data/store/schema';
import { DatasetStore } from '../../src/data/store/store';
import { seededValues } from './compare';
import { meanFacePoints } from './meanFace';

/**
 * A small finalised store of `videos` clips (two per identity) of `frames` frames at `size` px:
 * smooth seeded colour fields, with the mean face shifted a little per frame as landmarks.
 */
export async function makeTestStore(
  dir: string,
  options: { size: number; videos: number; frames: number },
): Promise<string> {
  const { size, videos, frames } = options;
  const settings: StoreSettings = {
    format: STORE_FORMAT,
    producer: 'synth',
    size,
    framesPerVideo: frames,
    jpegQuality: 95,
    crop: { scale: 1.8, offsetY: -0.1 },
  };
  const out = path.join(dir, `store-${size}-${videos}x${frames}`);
  const writer = await DatasetStore.create(out, settings);
  for (let v = 0; v < videos; v++) {
    const base = seededValues(12, 100 + v);
    const jpegs: Uint8Array[] = [];
    const points = new Float32Array(frames * 136);
    for (let j = 0; j < frames; j++) {
      const rgb = new Uint8Array(size * size * 3);
      for (let y = 0; y < size; y++)
        for (let x = 0; x < size; x++)
          for (let c = 0; c < 3; c++)
            rgb[(y * size + x) * 3 + c] =
              128 +
              100 * Math.sin(base[c]! * 3 + (x * base[c + 3]! + y * base[c + 6]!) / 6 + j / 3);
      jpegs.push(await encodeJpeg({ rgb, width: size, height: size }, 95));
      points.set(
        meanFacePoints(size).map((p, i) => p + (i % 2 === 0 ? j / 2 : 0)),
        j * 136,
      );
    }
    await writer.putVideo(
      {
        key: `id${Math.floor(v / 2)}/clip${v % 2}`,
        source: 'test',
        identity: `id${Math.floor(v / 2)}`,
        videoId: `clip${v % 2}`,
        frameIndices: jpegs.map((_, j) => j),
        points,
        cropBox: { left: 0, top: 0, size },
        skippedFrames: [],
      },
      jpegs,
    );
  }
  await writer.finalise();
  await writer.close();
  return out;
}
