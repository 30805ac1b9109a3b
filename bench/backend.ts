/**
 * `npm run bench:backend [-- --quick] [-- --wasm-threads N]`: per available backend, forward and
 * backward 3x3 conv GFLOP/s (1x128x128x64, 64->64) and ms per training step of the small conv
 * net at 128x128, batch 4. Prints figures; asserts nothing.
 */
import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { initBackend, type ConcreteBackend } from '../src/backend/select';
import { conv2dBackpropFilter } from '../src/backend/kernels/convGradientOps';
import { replaceKernels } from '../src/backend/kernels/replaceKernels';
import { isUserError } from '../src/errors';
import {
  buildSmallConvNet,
  smallConvNetBatch,
  smallConvNetStep,
} from '../src/backend/smallConvNet';
import { gflops, timeIt, type Timing } from './timing';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const threadsIndex = args.indexOf('--wasm-threads');
const wasmThreads = threadsIndex >= 0 ? Number(args[threadsIndex + 1]) : 0;

const CONV = { batch: 1, size: 128, inChannels: 64, outChannels: 64, kernel: 3 };
const CONV_FLOPS =
  2 * CONV.batch * CONV.size * CONV.size * CONV.kernel ** 2 * CONV.inChannels * CONV.outChannels;

function fmt(t: Timing, flops?: number): string {
  const ms = `${t.medianMs.toFixed(1)} ms (min ${t.minMs.toFixed(1)}, max ${t.maxMs.toFixed(1)})`;
  return flops == null ? ms : `${gflops(flops, t.medianMs).toFixed(2)} GFLOP/s, ${ms}`;
}

/** Input, weights and output gradient of the benchmark conv; the caller disposes them. */
function convOperands(): { x: tf.Tensor4D; w: tf.Tensor4D; dy: tf.Tensor4D } {
  const { batch, size, kernel, inChannels, outChannels } = CONV;
  return {
    x: tf.randomNormal([batch, size, size, inChannels]),
    w: tf.randomNormal([kernel, kernel, inChannels, outChannels]),
    dy: tf.randomNormal([batch, size, size, outChannels]),
  };
}

function convFigures(runs: number): { forward: Timing; input: Timing; filter: Timing } {
  const { x, w, dy } = convOperands();
  const forward = timeIt(() => tf.conv2d(x, w, 1, 'same'), runs);
  const input = timeIt(() => tf.conv2dTranspose(dy, w, x.shape, 1, 'same'), runs);
  const filter = timeIt(() => conv2dBackpropFilter(x, dy, w.shape, 1, 'same'), runs);
  tf.dispose([x, w, dy]);
  return { forward, input, filter };
}

function trainStepFigure(runs: number): Timing {
  const model = buildSmallConvNet(128);
  const optimizer = tf.train.adam(1e-3);
  const batch = smallConvNetBatch(4, 128);
  const timing = timeIt(() => smallConvNetStep(model, optimizer, batch), runs);
  tf.dispose(batch);
  optimizer.dispose();
  model.dispose();
  return timing;
}

/** The shipped wasm Conv2DBackpropInput, timed against ours, then ours is put back. */
function shippedWasmBackpropInput(shipped: tf.KernelConfig, runs: number): Timing {
  const ours = tf.getKernel('Conv2DBackpropInput', 'wasm')!;
  replaceKernels([shipped]);
  // It was unregistered before the backend started, so its setup (binding the C function) never ran.
  shipped.setupFunc?.(tf.backend());
  const { x, w, dy } = convOperands();
  try {
    return timeIt(() => tf.conv2dTranspose(dy, w, x.shape, 1, 'same'), runs);
  } finally {
    tf.dispose([x, w, dy]);
    replaceKernels([ours]);
  }
}

async function main(): Promise<void> {
  tf.env().set('PROD', true);
  // Keep the shipped kernel before initBackend replaces it, to show what the replacement buys.
  await import('@tensorflow/tfjs-backend-wasm');
  const shippedInput = tf.getKernel('Conv2DBackpropInput', 'wasm');
  console.log(
    `backend benchmark on ${os.cpus()[0]?.model ?? 'unknown cpu'} x${os.cpus().length}, node ${process.version}`,
  );
  console.log(
    `conv: ${CONV.batch}x${CONV.size}x${CONV.size}x${CONV.inChannels}, ${CONV.kernel}x${CONV.kernel}, ${CONV.inChannels}->${CONV.outChannels}, ${(CONV_FLOPS / 1e9).toFixed(2)} GFLOP per pass`,
  );
  const measuredTfjs = new Set<string>();
  const backends: ConcreteBackend[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];
  for (const name of backends) {
    let tfjsName: string;
    try {
      tfjsName = (await initBackend({ backend: name, wasmThreads })).tfjsName;
    } catch (err) {
      if (!isUserError(err)) throw err;
      console.log(`\n${name}: unavailable (${err.message})`);
      continue;
    }
    if (measuredTfjs.has(tfjsName)) continue;
    measuredTfjs.add(tfjsName);
    // The pure-JS cpu backend is far slower: fewer runs keep the bench within minutes.
    const slow = name === 'cpu';
    const runs = quick || slow ? 3 : 10;
    const threads = name === 'wasm' && wasmThreads > 1 ? ` (${wasmThreads} threads)` : '';
    console.log(`\n${name}${threads}:`);
    const conv = convFigures(runs);
    console.log(`  conv forward          ${fmt(conv.forward, CONV_FLOPS)}`);
    console.log(`  conv backprop input   ${fmt(conv.input, CONV_FLOPS)}`);
    console.log(`  conv backprop filter  ${fmt(conv.filter, CONV_FLOPS)}`);
    if (name === 'wasm' && shippedInput != null) {
      const shipped = shippedWasmBackpropInput(shippedInput, quick ? 2 : 3);
      console.log(`  (shipped wasm backprop input: ${fmt(shipped, CONV_FLOPS)})`);
    }
    const step = trainStepFigure(slow ? 2 : quick ? 3 : 5);
    console.log(`  small-net train step  ${fmt(step)} (128x128, batch 4, Adam)`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
