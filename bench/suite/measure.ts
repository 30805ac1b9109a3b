import type { Timing } from './results';

function median(sorted: readonly number[]): number {
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Median, min and max of per-call times. */
export function summarise(timesMs: readonly number[], warmup: number, repeat = 1): Timing {
  if (timesMs.length === 0) throw new Error('no timed runs');
  const sorted = [...timesMs].sort((a, b) => a - b);
  return {
    medianMs: median(sorted),
    minMs: sorted[0]!,
    maxMs: sorted[sorted.length - 1]!,
    runs: sorted.length,
    warmup,
    repeat,
  };
}

/** How a case is timed: warm-up, then `runs` timed runs of at least `runMs` each. */
export interface TimingPlan {
  runs: number;
  /** Warm-up runs continue until this long has passed: V8 keeps optimising tfjs's JS for a while. */
  warmupMs: number;
  /** A run shorter than this is repeated within each timed run, so the clock resolves it. */
  runMs: number;
}

async function elapsedMs(run: () => void | Promise<void>): Promise<number> {
  const start = performance.now();
  await run();
  return performance.now() - start;
}

/**
 * Times `run`, which must finish its work before it returns (read results back on asynchronous
 * backends). `firstMs` is the warm-up run the caller already made (often a profiled one, for
 * FLOPs); more warm-up runs follow until `plan.warmupMs` have passed.
 */
export async function timeAfterWarmUp(
  run: () => void | Promise<void>,
  plan: TimingPlan,
  firstMs: number,
): Promise<Timing> {
  let warmup = 1;
  let spent = firstMs;
  let lastMs = firstMs;
  while (spent < plan.warmupMs) {
    lastMs = await elapsedMs(run);
    spent += lastMs;
    warmup++;
  }
  const repeat = Math.max(1, Math.min(1000, Math.ceil(plan.runMs / Math.max(lastMs, 1e-3))));
  const times: number[] = [];
  for (let r = 0; r < plan.runs; r++)
    times.push(
      (await elapsedMs(async () => {
        for (let i = 0; i < repeat; i++) await run();
      })) / repeat,
    );
  return summarise(times, warmup, repeat);
}

/** Runs `first` (the first warm-up run) and says how long it took. */
export async function timeFirstRun<T>(first: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const start = performance.now();
  const value = await first();
  return { value, ms: performance.now() - start };
}

/** `amount` (GFLOP, frames) done in `ms`, per second. */
export function perSecond(amount: number, ms: number): number {
  return (amount * 1000) / ms;
}
