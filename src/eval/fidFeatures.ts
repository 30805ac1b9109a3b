import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { pixelTensor } from '../data/frameTensors';
import { readSafetensorsFile, toFloat32, writeSafetensorsFile } from '../formats/safetensors';
import { fileStem, unitVideos, type EvaluationUnit } from './evaluationPlan';
import type { FidResult } from './evaluationReport';
import { FeatureMoments, frechetDistance } from './fid/frechet';
import { FID_FEATURES, type FidInception } from './fid/inception';

const BATCH = 8;
const REAL = 'real';

/**
 * FID is a statistic of whole sets, so each unit's Inception features (real targets and every
 * method's outputs) are kept on disk, one .safetensors file per unit, and the sets are formed
 * at the end: a resumed run needs no recomputation.
 */
export class FidFeatureStore {
  constructor(
    private readonly inception: FidInception,
    readonly dir: string,
  ) {}

  fileOf(unit: Pick<EvaluationUnit, 'video' | 'shotVideo' | 'shots'>): string {
    return path.join(this.dir, `${fileStem(unitVideos(unit))}-${unit.shots}.safetensors`);
  }

  private async features(frames: readonly Uint8Array[], size: number): Promise<Float32Array> {
    const out = new Float32Array(frames.length * FID_FEATURES);
    for (let first = 0; first < frames.length; first += BATCH) {
      const part = frames.slice(first, first + BATCH);
      const f = tf.tidy(() => this.inception.features(pixelTensor(part, size)));
      out.set(await f.data(), first * FID_FEATURES);
      f.dispose();
    }
    return out;
  }

  async add(
    unit: Pick<EvaluationUnit, 'video' | 'shots'>,
    real: readonly Uint8Array[],
    outputs: Record<string, readonly Uint8Array[]>,
    size: number,
  ): Promise<void> {
    const tensors: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {};
    for (const [name, frames] of [[REAL, real] as const, ...Object.entries(outputs)])
      tensors[name] = {
        dtype: 'F32',
        shape: [frames.length, FID_FEATURES],
        data: await this.features(frames, size),
      };
    fs.mkdirSync(this.dir, { recursive: true });
    await writeSafetensorsFile(this.fileOf(unit), tensors);
  }

  dispose(): void {
    this.inception.dispose();
  }
}

/** FID of every method at every shot count, over the finished units' stored features. */
export async function fidResults(
  store: FidFeatureStore,
  units: readonly Pick<EvaluationUnit, 'video' | 'shots'>[],
  methods: readonly string[],
): Promise<Map<number, Record<string, FidResult>>> {
  const results = new Map<number, Record<string, FidResult>>();
  for (const shots of new Set(units.map((u) => u.shots))) {
    const moments = new Map([REAL, ...methods].map((m) => [m, new FeatureMoments(FID_FEATURES)]));
    for (const unit of units.filter((u) => u.shots === shots)) {
      const { tensors } = await readSafetensorsFile(store.fileOf(unit));
      for (const [name, m] of moments) m.add(toFloat32(tensors[name]!));
    }
    const real = moments.get(REAL)!.stats();
    const byMethod: Record<string, FidResult> = {};
    for (const method of methods) {
      const generated = moments.get(method)!.stats();
      byMethod[method] =
        real.count < 2 || generated.count < 2
          ? {
              skipped: `needs at least 2 frames per set, has ${Math.min(real.count, generated.count)}`,
            }
          : {
              value: frechetDistance(real, generated),
              generated: generated.count,
              real: real.count,
            };
    }
    results.set(shots, byMethod);
  }
  return results;
}
