import { UserError } from '../../errors';
import type { Logger } from '../../log';
import { printable } from '../../oneLine';
import type { Progress } from '../../progress';
import { sideBySide } from '../imageLayout';
import { cropBoxFromPoints, cropImage, pointsInCrop, type CropGeometry } from '../landmarks/crop';
import { FaceTracker } from '../landmarks/faceTracker';
import type { FaceLandmarker } from '../landmarks/landmarker';
import { mapPoints, meanPoints, type Points } from '../landmarks/points';
import { landmarkImageBytes, rasteriseLandmarks } from '../landmarks/rasterise';
import { decodeFrames } from '../video/decode';
import { VideoWriter } from '../video/encode';
import { probeVideo } from '../video/probe';
import { retargetMap } from './retarget';
import { stampWatermark } from './watermark';

/** Draws frames from landmark images: [n, size, size, 3] floats in [0, 1] -> n RGB byte frames. */
export type RenderFrames = (landmarkImages: Float32Array, count: number) => Promise<Uint8Array[]>;

export interface AnimateOptions {
  driver: string;
  out: string;
  /** Frame size, crop rule and landmark drawing of the model. */
  size: number;
  crop: CropGeometry;
  background: 'black' | 'white';
  /** The person's mean landmarks (crop pixels): what the driver's are retargeted to. */
  personPoints: Points;
  retarget: boolean;
  sideBySide: boolean;
  watermark: boolean;
  /** mp4 metadata (comment, description): the synthetic-media tag. */
  metadata: Record<string, string>;
  render: RenderFrames;
  landmarker: FaceLandmarker;
  /** Frames rendered per call of `render`. */
  batch: number;
  /** Only the driver's first this many frames (a preview); all when undefined. */
  maxFrames?: number;
  /**
   * Keep this many generated frames, evenly spread, with the points each was drawn from, in the
   * summary (an identity check reads them); none when undefined.
   */
  samples?: number;
  log: Logger;
  /** One per stage: 'landmarks' then 'frames', each over the driver's frames. */
  progress?: (stage: 'landmarks' | 'frames', total: number) => Pick<Progress, 'increment' | 'stop'>;
  signal?: AbortSignal;
}

export interface AnimateSummary {
  frames: number;
  fps: number;
  /** Frames where no face was found: they repeat the nearest frame's landmarks. */
  framesWithoutFace: number;
  hasAudio: boolean;
  seconds: { landmarks: number; render: number };
  interrupted: boolean;
  /** The generated frames kept by options.samples (before side-by-side and watermark). */
  samples: { frames: Uint8Array[]; points: Points[] };
}

/** Frames without points take the nearest earlier frame's (or, at the start, the first found). */
function fillGaps(points: (Points | undefined)[]): Points[] {
  const first = points.find((p) => p !== undefined)!;
  let last = first;
  return points.map((p) => (last = p ?? last));
}

/**
 * Animates a person from a driving video: pass 1 streams the driver and tracks its landmarks
 * (kept, 544 bytes a frame); the driver gets one crop box from its mean points, as a training
 * clip does; its points are retargeted onto the person's mean geometry; pass 2 rasterises,
 * renders in small batches and encodes at the driver's frame rate with its sound. Memory stays
 * bounded whatever the video's length: no frame is held beyond its batch.
 */
export async function animateVideo(options: AnimateOptions): Promise<AnimateSummary> {
  const { driver, size, log } = options;
  const info = await probeVideo(driver);
  const summary: AnimateSummary = {
    frames: 0,
    fps: info.fps,
    framesWithoutFace: 0,
    hasAudio: info.hasAudio,
    seconds: { landmarks: 0, render: 0 },
    interrupted: false,
    samples: { frames: [], points: [] },
  };

  // Pass 1: landmarks of every frame, in source pixels.
  let started = Date.now();
  const tracker = new FaceTracker(options.landmarker);
  const found: (Points | undefined)[] = [];
  const frameCount = Math.min(info.frameCount, options.maxFrames ?? Infinity);
  const bar = options.progress?.('landmarks', frameCount);
  try {
    for await (const frame of decodeFrames(driver, { info })) {
      if (found.length === frameCount) break;
      if (options.signal?.aborted) {
        summary.interrupted = true;
        return summary;
      }
      found.push(await tracker.next(frame));
      bar?.increment(rate(found.length, started));
    }
  } finally {
    bar?.stop();
  }
  summary.seconds.landmarks = (Date.now() - started) / 1000;
  if (found.length === 0) throw new UserError(`${printable(driver)}: no frames decoded`);
  const valid = found.filter((p): p is Points => p !== undefined);
  if (valid.length === 0) throw new UserError(`${printable(driver)}: no face found in any frame`);
  summary.framesWithoutFace = found.length - valid.length;
  if (summary.framesWithoutFace > 0)
    log.warn(
      `${driver}: no face in ${summary.framesWithoutFace} of ${found.length} frames; they repeat the nearest frame's landmarks`,
    );
  const box = cropBoxFromPoints(meanPoints(valid), options.crop);
  const points = fillGaps(found).map((p) => pointsInCrop(p, box, size));
  const map = options.retarget
    ? retargetMap(meanPoints(points), options.personPoints)
    : { a: 1, b: 0, c: 0, d: 1, tx: 0, ty: 0 };

  // Pass 2: landmark images -> frames -> mp4.
  started = Date.now();
  const panels = options.sideBySide ? 3 : 1;
  const writer = new VideoWriter(options.out, {
    width: size * panels,
    height: size,
    fps: info.fps,
    metadata: options.metadata,
    ...(info.hasAudio ? { audioFrom: driver } : {}),
  });
  const driverFrames = options.sideBySide ? decodeFrames(driver, { info }) : undefined;
  const renderBar = options.progress?.('frames', points.length);
  const wanted = options.samples
    ? new Set(
        Array.from({ length: Math.min(options.samples, points.length) }, (_, i) =>
          Math.floor(((i + 0.5) * points.length) / Math.min(options.samples!, points.length)),
        ),
      )
    : new Set<number>();
  const image = size * size * 3;
  try {
    for (let first = 0; first < points.length; first += options.batch) {
      if (options.signal?.aborted) {
        summary.interrupted = true;
        break;
      }
      const count = Math.min(options.batch, points.length - first);
      const drawn = points.slice(first, first + count).map((p) => mapPoints(p, map));
      const landmarkImages = new Float32Array(count * image);
      drawn.forEach((p, i) =>
        rasteriseLandmarks(p, { size, background: options.background }, landmarkImages, i * image),
      );
      const rendered = await options.render(landmarkImages, count);
      for (let i = 0; i < count; i++) {
        let frame = rendered[i]!;
        if (wanted.has(first + i)) {
          summary.samples.frames.push(Uint8Array.from(frame));
          summary.samples.points.push(drawn[i]!);
        }
        if (driverFrames) {
          const next = await driverFrames.next();
          if (next.done)
            throw new UserError(`${printable(driver)}: fewer frames on the second read`);
          const { rgb, width, height } = next.value;
          const crop = await cropImage(rgb, width, height, box, size);
          const marks = landmarkImageBytes(drawn[i]!, { size, background: options.background });
          frame = sideBySide([crop, marks, frame], size).rgb;
        }
        if (options.watermark) stampWatermark(frame, size * panels, size);
        await writer.write(frame);
        summary.frames++;
        renderBar?.increment(rate(summary.frames, started));
      }
    }
  } catch (err) {
    await writer.abort();
    await driverFrames?.return(undefined);
    throw err;
  } finally {
    renderBar?.stop();
  }
  await driverFrames?.return(undefined);
  if (summary.interrupted) {
    await writer.abort();
    return summary;
  }
  await writer.close();
  summary.seconds.render = (Date.now() - started) / 1000;
  return summary;
}

function rate(done: number, since: number): string {
  const seconds = (Date.now() - since) / 1000;
  return seconds > 0 ? `${(done / seconds).toFixed(1)} frames/s` : '';
}
