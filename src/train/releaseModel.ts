import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors';
import {
  fromFloat32,
  readSafetensorsFile,
  toFloat32,
  type RawTensor,
} from '../formats/safetensors';
import { printable } from '../oneLine';
import { readCheckpointInfo, saveWeightsCheckpoint } from './checkpoint';
import { VIDEO_MATRIX } from './metaCheckpoint';

/** Largest finite float16. */
const F16_MAX = 65504;

export interface ReleaseSummary {
  step: number;
  tensors: number;
  bytes: number;
}

/**
 * Writes a meta-learning checkpoint as a model to ship into `out`: the weights of E, G and D
 * without W (one column per training video; a new person never uses them) and without optimizer
 * state, as float16 or float32. The result is itself a checkpoint directory that finetune,
 * evaluate and animate open; it cannot resume meta-learning.
 */
export async function releaseModel(
  from: string,
  out: string,
  options: { precision: 'F16' | 'F32' },
): Promise<ReleaseSummary> {
  const info = await readCheckpointInfo(from);
  const { tensors } = await readSafetensorsFile(info.modelFile);
  const kept: Record<string, RawTensor> = {};
  for (const [name, raw] of Object.entries(tensors)) {
    if (name === VIDEO_MATRIX) continue;
    if (raw.dtype !== 'F32' && raw.dtype !== 'F16') {
      kept[name] = raw;
      continue;
    }
    const values = toFloat32(raw);
    if (options.precision === 'F16') {
      const largest = values.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      if (!(largest <= F16_MAX))
        throw new UserError(
          `${printable(info.modelFile)}: tensor '${name}' holds ${largest}, beyond float16's range; ` +
            'release it as float32',
        );
    }
    kept[name] = fromFloat32(values, raw.shape, options.precision);
  }
  await saveWeightsCheckpoint(out, {
    step: info.step,
    config: info.config,
    data: info.data ?? undefined,
    tensors: kept,
    metadata: { released_from: `step-${info.step}-${info.modelSha256.slice(0, 12)}` },
  });
  return {
    step: info.step,
    tensors: Object.keys(kept).length,
    bytes: fs.statSync(path.join(out, 'model.safetensors')).size,
  };
}
