import { CONV_PASSES, type ConvPass } from './results';

/** A time estimate and what it rests on, for the reason a case was skipped. */
export interface Estimate {
  seconds: number;
  basis: string;
}

const fixed = (x: number) => (x >= 10 ? x.toFixed(0) : x.toPrecision(2));

/**
 * What this suite run has measured so far, per backend, to estimate what a case would take before
 * running it: the best conv rate per pass, and each case's time per run.
 */
export class RateBook {
  private readonly convRates = new Map<string, Partial<Record<ConvPass, number>>>();
  private readonly runMs = new Map<string, Map<string, number>>();

  noteConv(backend: string, pass: ConvPass, gflops: number): void {
    const rates = this.convRates.get(backend) ?? {};
    rates[pass] = Math.max(rates[pass] ?? 0, gflops);
    this.convRates.set(backend, rates);
  }

  /** ms per run of `caseKey` ("metaStep/tiny") measured on `backend`. */
  noteRun(caseKey: string, backend: string, ms: number): void {
    const byBackend = this.runMs.get(caseKey) ?? new Map<string, number>();
    byBackend.set(backend, ms);
    this.runMs.set(caseKey, byBackend);
  }

  passRate(backend: string, pass: ConvPass): number | undefined {
    return this.convRates.get(backend)?.[pass];
  }

  /** The best conv rate of any pass on `backend`, GFLOP/s. */
  bestRate(backend: string): number | undefined {
    const rates = CONV_PASSES.flatMap((p) => this.passRate(backend, p) ?? []);
    return rates.length ? Math.max(...rates) : undefined;
  }

  /**
   * ms of one run of `caseKey` on `backend`: scaled from its time on a backend where it ran, by
   * the ratio of the two backends' best conv rates; else at least `lowerBound` FLOPs at
   * `backend`'s best conv rate. Undefined when neither is known.
   */
  perRun(
    caseKey: string,
    backend: string,
    lowerBound?: { gflop: number; what: string },
  ): Estimate | undefined {
    const rate = this.bestRate(backend);
    if (rate == null) return undefined;
    for (const [other, ms] of this.runMs.get(caseKey) ?? []) {
      const otherRate = this.bestRate(other);
      if (other === backend || otherRate == null) continue;
      const ratio = otherRate / rate;
      return {
        seconds: (ms / 1000) * ratio,
        basis: `${fixed(ms / 1000)} s a run on ${other} x ${fixed(ratio)}, the ratio of the best conv rates measured on ${other} and ${backend}`,
      };
    }
    if (lowerBound == null) return undefined;
    return {
      seconds: lowerBound.gflop / rate,
      basis: `at least ${fixed(lowerBound.gflop)} GFLOP a run (${lowerBound.what}) at ${fixed(rate)} GFLOP/s, the best conv rate measured on ${backend}`,
    };
  }
}

/** A warm-up of at least `warmupSeconds` and `runs` timed runs of `perRun`, plus a child's start-up. */
export function caseEstimate(perRun: Estimate, runs: number, warmupSeconds: number): Estimate {
  const startup = 3;
  return {
    seconds: startup + Math.max(perRun.seconds, warmupSeconds) + runs * perRun.seconds,
    basis: `a warm-up and ${runs} runs; ${perRun.basis}`,
  };
}

export function formatSeconds(seconds: number): string {
  return fixed(seconds);
}
