import type { CaseArgs, CaseName } from './caseTypes';
import type { ModeSettings } from './modes';
import { formatSeconds, type Estimate } from './rateBook';
import { runChild, type ChildDone, type ChildFailed } from './runChild';

/** A child gets at least this long, or is not started when the suite's time limit is nearer. */
const MIN_CHILD_SECONDS = 10;

/**
 * Starts cases in child processes one after another (they would skew each other's timings),
 * within the mode's limits: a case whose estimate is over the per-case cap or beyond the
 * suite's time limit is skipped with the estimate as its reason. Progress goes to stderr.
 */
export class CaseRunner {
  private readonly started = performance.now();

  constructor(
    readonly mode: ModeSettings,
    private readonly progress: (line: string) => void,
  ) {}

  elapsedSeconds(): number {
    return (performance.now() - this.started) / 1000;
  }

  /** Seconds left before the suite's time limit; Infinity without one. */
  secondsLeft(): number {
    const { deadlineSeconds } = this.mode;
    return deadlineSeconds == null ? Infinity : deadlineSeconds - this.elapsedSeconds();
  }

  /**
   * Why work estimated at `estimate` should not start now; undefined if it may. `plannedSeconds`
   * of other work is already planned ahead of it (conv shapes of one child); `capSeconds` is the
   * limit for one item (`capWhat`: 'per case').
   */
  refusal(
    estimate: Estimate | undefined,
    limits: { capSeconds: number; capWhat: string; plannedSeconds?: number } = {
      capSeconds: this.mode.caseCapSeconds,
      capWhat: 'per case',
    },
  ): string | undefined {
    const left = this.secondsLeft() - (limits.plannedSeconds ?? 0);
    const whole = `the ${this.mode.deadlineSeconds} s the whole ${this.mode.mode} suite may take`;
    if (left < MIN_CHILD_SECONDS) return `no time left within ${whole}`;
    if (estimate == null) return undefined;
    const about = `estimated ${formatSeconds(estimate.seconds)} s (${estimate.basis})`;
    if (estimate.seconds > limits.capSeconds)
      return `${about}, over the ${limits.capSeconds} s allowed ${limits.capWhat} in ${this.mode.mode} mode`;
    if (estimate.seconds > left)
      return `${about}, more than the ${formatSeconds(left)} s left within ${whole}`;
    return undefined;
  }

  /** Runs the case unless refused; `label` names it in progress lines. */
  async run<N extends CaseName>(
    label: string,
    name: N,
    args: CaseArgs<N>,
    estimate?: Estimate,
  ): Promise<ChildDone<N> | ChildFailed> {
    const clock = () => `[${this.elapsedSeconds().toFixed(0).padStart(4)} s]`;
    const refused = this.refusal(estimate);
    if (refused) {
      this.progress(`${clock()} ${label}: skipped: ${refused}`);
      return { skipped: refused, seconds: 0 };
    }
    const left = this.secondsLeft();
    const timeout = Math.min(this.mode.childTimeoutSeconds, left);
    const why =
      timeout < this.mode.childTimeoutSeconds
        ? `the end of the ${this.mode.deadlineSeconds} s the ${this.mode.mode} suite may take`
        : `the limit for one case in ${this.mode.mode} mode`;
    this.progress(`${clock()} ${label} ...`);
    const result = await runChild(name, args, timeout, why);
    const rss = result.peakRssMiB == null ? '' : `, peak RSS ${result.peakRssMiB.toFixed(0)} MiB`;
    this.progress(
      'skipped' in result
        ? `${clock()} ${label}: ${result.skipped}`
        : `${clock()} ${label}: done in ${result.seconds.toFixed(1)} s${rss}`,
    );
    return result;
  }
}
