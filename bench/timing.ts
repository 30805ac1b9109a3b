import * as tf from '@tensorflow/tfjs';

export interface Timing {
  medianMs: number;
  minMs: number;
  maxMs: number;
  runs: number;
}

/**
 * Times fn after `warmup` untimed runs. fn returns what it computed; the clock stops only
 * after its values are read back, so async backends are timed to completion.
 */
export function timeIt(fn: () => tf.Tensor | number, runs: number, warmup = 1): Timing {
  const once = () => {
    const out = fn();
    if (typeof out !== 'number') {
      out.dataSync();
      out.dispose();
    }
  };
  for (let i = 0; i < warmup; i++) once();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    once();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return {
    medianMs: times[Math.floor(times.length / 2)]!,
    minMs: times[0]!,
    maxMs: times[times.length - 1]!,
    runs,
  };
}

export function gflops(flops: number, ms: number): number {
  return flops / ms / 1e6;
}
