/**
 * `npm run bench:onnx [-- --quick]`: generator frames per second of a person model (psi' baked
 * in) in onnxruntime-node on the CPU against tfjs on wasm, same machine, same run, for the tiny
 * preset at 64 px and the paper preset at 256 px. Random weights: speed does not depend on them.
 * onnxruntime runs with its default threads (one per core) and with one, like tfjs's wasm.
 * Prints figures and ratios; asserts nothing.
 */
import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { initBackend } from '../src/backend/select';
import type { WeightPrecision } from '../src/formats/onnxGraph';
import { presetConfig } from '../src/models/config';
import { Generator } from '../src/models/generator';
import { generatorSession, landmarkFeeds } from './onnxGenerator';

const quick = process.argv.includes('--quick');
const PRESETS = {
  tiny: { frames: quick ? 16 : 64 },
  // tfjs on wasm is slow at 256 px: few frames.
  paper: { frames: quick ? 2 : 4 },
} as const;

async function time(frames: number, batch: number, run: () => Promise<void>): Promise<number> {
  await run(); // warm-up: kernels compiled, memory planned
  const start = performance.now();
  for (let done = 0; done < frames; done += batch) await run();
  return (Math.ceil(frames / batch) * batch) / ((performance.now() - start) / 1000);
}

async function main(): Promise<void> {
  await initBackend({ backend: 'wasm' });
  console.log(`# generator frames/s, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'})`);
  console.log(
    '| preset | px | tfjs wasm b1 (1 thread) | onnxruntime b1, 1 thread | onnxruntime b1 | onnxruntime b4 | onnxruntime fp16 weights b1 | b1 ratio, 1 thread / default |',
  );
  console.log('|---|---|---|---|---|---|---|---|');
  for (const [preset, { frames }] of Object.entries(PRESETS)) {
    const config = presetConfig(preset);
    const s = config.imageSize;
    const generator = new Generator(config, { seed: 1 });
    tf.tidy(() =>
      generator.enterFinetuning(tf.randomNormal([generator.psiLength], 0, 0.1, 'float32', 2)),
    );
    const y = (batch: number) =>
      tf.randomUniform([batch, s, s, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    const y1 = y(1);
    const tfjsFps = await time(frames, 1, async () => {
      const out = generator.generate(y1);
      await out.data();
      out.dispose();
    });
    const onnxFps = async (precision: WeightPrecision, batch: number, threads?: number) => {
      const s32 = await generatorSession(ort, generator, precision, threads);
      const feeds = landmarkFeeds(ort, batch, s);
      const fps = await time(
        Math.max(frames, 4) * 2,
        batch,
        async () => void (await s32.run(feeds)),
      );
      await s32.release();
      return fps;
    };
    const b1 = await onnxFps('float32', 1);
    const oneThread = await onnxFps('float32', 1, 1);
    const b4 = await onnxFps('float32', 4);
    const half = await onnxFps('float16', 1);
    console.log(
      `| ${preset} | ${s} | ${tfjsFps.toFixed(2)} | ${oneThread.toFixed(2)} | ${b1.toFixed(2)} | ${b4.toFixed(2)} | ${half.toFixed(2)} | ` +
        `${(oneThread / tfjsFps).toFixed(1)}x / ${(b1 / tfjsFps).toFixed(1)}x |`,
    );
    y1.dispose();
    generator.dispose();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
