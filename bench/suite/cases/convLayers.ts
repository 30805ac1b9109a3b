import * as tf from '@tensorflow/tfjs';
import {
  conv2dBackpropFilter,
  conv2dBackpropInput,
} from '../../../src/backend/kernels/convGradientOps';
import { convGflop } from '../convShapes';
import { summarise } from '../measure';
import { CONV_PASSES, type ConvPass, type ConvShape, type Timing } from '../results';

export interface ConvLayersArgs {
  shapes: ConvShape[];
  runs: number;
  /** Calls shorter than this are repeated within a timed run. */
  runMs: number;
  /** The JIT warm-up of the whole case (see runConvLayers). */
  warmupMs: number;
}

export interface ConvLayersFigures {
  /** Per shape, in the order given: ms per call of each pass. */
  timings: Record<ConvPass, Timing>[];
}

type Shape4 = [number, number, number, number];

/** Runs `call` `repeat` times, reading back only the last output: the backend runs calls in order. */
function callRepeatedly(call: () => tf.Tensor, repeat: number): void {
  for (let i = 0; i < repeat; i++) {
    const out = call();
    if (i === repeat - 1) out.dataSync();
    out.dispose();
  }
}

function elapsedMs(fn: () => void): number {
  const start = performance.now();
  fn();
  return performance.now() - start;
}

/**
 * One pass timed: a warm-up call (kernels set up, memory planned); if it was shorter than
 * `runMs`, a second call sizes the loop that makes each timed run last about `runMs`.
 */
function timePass(call: () => tf.Tensor, runs: number, runMs: number): Timing {
  let warmup = 1;
  let single = elapsedMs(() => callRepeatedly(call, 1));
  if (single < runMs) {
    single = elapsedMs(() => callRepeatedly(call, 1));
    warmup++;
  }
  const repeat = Math.max(1, Math.min(1000, Math.ceil(runMs / Math.max(single, 1e-3))));
  const times: number[] = [];
  for (let r = 0; r < runs; r++) times.push(elapsedMs(() => callRepeatedly(call, repeat)) / repeat);
  return summarise(times, warmup, repeat);
}

/** Input, filter and output gradient of a conv shape, and a call of each pass on them. */
function convOperands(s: ConvShape): { calls: Record<ConvPass, () => tf.Tensor>; dispose(): void } {
  const xShape: Shape4 = [s.batch, s.height, s.width, s.inChannels];
  const wShape: Shape4 = [s.kernelHeight, s.kernelWidth, s.inChannels, s.outChannels];
  const x = tf.randomNormal(xShape, 0, 1, 'float32', 1) as tf.Tensor4D;
  const w = tf.randomNormal(wShape, 0, 0.1, 'float32', 2) as tf.Tensor4D;
  const dy = tf.randomNormal([s.batch, s.height, s.width, s.outChannels], 0, 1, 'float32', 3);
  return {
    calls: {
      forward: () => tf.conv2d(x, w, 1, 'same'),
      backpropInput: () => conv2dBackpropInput(dy as tf.Tensor4D, w, xShape, 1, 'same'),
      backpropFilter: () => conv2dBackpropFilter(x, dy as tf.Tensor4D, wShape, 1, 'same'),
    },
    dispose: () => tf.dispose([x, w, dy]),
  };
}

/**
 * The forward conv and both of its gradients (what backpropagation through it runs: the input
 * gradient and the filter gradient) at each shape, stride 1, 'same' padding, through the same
 * kernels autodiff calls (the wasm and cpu replacements initBackend registers). First, the
 * cheapest shape's passes run for `warmupMs`: the JS around the kernels is the same for every
 * shape, and V8 takes a while to optimise it; small shapes would otherwise pay for that.
 */
export function runConvLayers(args: ConvLayersArgs): ConvLayersFigures {
  const cheapest = [...args.shapes].sort((a, b) => convGflop(a) - convGflop(b))[0];
  if (cheapest) {
    const { calls, dispose } = convOperands(cheapest);
    const start = performance.now();
    do for (const pass of CONV_PASSES) callRepeatedly(calls[pass], 1);
    while (performance.now() - start < args.warmupMs);
    dispose();
  }
  const timings = args.shapes.map((s) => {
    const { calls, dispose } = convOperands(s);
    try {
      return Object.fromEntries(
        CONV_PASSES.map((pass) => [pass, timePass(calls[pass], args.runs, args.runMs)]),
      ) as Record<ConvPass, Timing>;
    } finally {
      dispose();
    }
  });
  return { timings };
}
