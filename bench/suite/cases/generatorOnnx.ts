import * as ort from 'onnxruntime-node';
import { generatorSession, landmarkFeeds } from '../../onnxGenerator';
import { timeAfterWarmUp, timeFirstRun, type TimingPlan } from '../measure';
import type { PresetName, Timing } from '../results';
import { personGenerator } from './personGenerator';

export interface GeneratorOnnxArgs extends TimingPlan {
  preset: PresetName;
  batchSize: number;
  /** onnxruntime's intra-op threads; absent: its default, one per core. */
  threads?: number;
}

/**
 * ms per batch of frames of the preset's person generator exported to ONNX (fp32) and run in
 * onnxruntime-node on the CPU. The tfjs backend only builds the weights.
 */
export async function runGeneratorOnnx(args: GeneratorOnnxArgs): Promise<{ timing: Timing }> {
  const generator = personGenerator(args.preset);
  const size = generator.config.imageSize;
  const session = await generatorSession(ort, generator, 'float32', args.threads);
  generator.dispose();
  const feeds = landmarkFeeds(ort, args.batchSize, size);
  try {
    const run = async () => void (await session.run(feeds));
    // The first run plans memory and picks kernels.
    const first = await timeFirstRun(run);
    return { timing: await timeAfterWarmUp(run, args, first.ms) };
  } finally {
    await session.release();
  }
}
