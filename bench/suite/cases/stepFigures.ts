import type { Timing } from '../results';

/** What a timed step or frame reports: its times and the FLOPs of one. */
export interface StepFigures {
  timing: Timing;
  gflop: number;
}
