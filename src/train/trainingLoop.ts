import { setImmediate as nextTurn } from 'node:timers/promises';
import { UserError } from '../errors';
import type { Logger } from '../log';
import type { EventWriter } from './tensorboard/eventWriter';

/** What the loop reads of a learner's step. */
export interface LoopStepResult {
  losses: Readonly<Record<string, number>> & { discriminator: number; total: number };
  scores: { real: number; fake: number };
  gradientNorms: Readonly<Record<string, number>>;
  /** The first non-finite term, when the step was refused. */
  nonFinite?: string;
}

export interface TrainingLoopOptions<Batch, Result extends LoopStepResult> {
  /** Steps done already (a resumed run's), and the step to stop at. */
  from: number;
  to: number;
  /** The batch of the step after `done` steps. */
  batch(done: number): Batch | Promise<Batch>;
  learn(batch: Batch): Result;
  dispose(batch: Batch): void;
  maxNonFiniteSteps: number;
  /** Where the last good state is, for the error that stops a run of non-finite steps. */
  lastGoodState: string;
  log: Logger;
  /** Ctrl-C or SIGTERM: the loop stops before the next step. */
  signal?: AbortSignal;
  /** A time bound, checked before each step. */
  outOfTime?(): boolean;
  /** TensorBoard scalars of every `every`-th step: losses, scores, gradient norms and `extra`. */
  scalars: {
    events: Pick<EventWriter, 'scalars'>;
    every: number;
    extra?(step: number): Record<string, number>;
    /** Also log each write's losses and scores as an info line. */
    log?: boolean;
  };
  /** After a step, with its batch (sample images). */
  withBatch?(step: number, result: Result, batch: Batch): void | Promise<void>;
  /** After a step, its batch disposed (evaluation, checkpoints). */
  afterStep?(step: number, result: Result): void | Promise<void>;
  /** Moves the progress bar after a step; `losses` reads "D <loss> G <total>". */
  progress?(step: number, losses: string): void;
}

export interface TrainingLoopEnd<Result> {
  /** Steps done, counting those before `from`. */
  step: number;
  interrupted: boolean;
  outOfTime: boolean;
  /** Non-finite steps in a row at the end: a checkpoint then would overwrite the last good one. */
  nonFiniteStreak: number;
  last?: Result;
}

/**
 * The steps of a training run from `from` to `to`: each draws a batch, runs the learner, writes
 * its scalars and moves the bar. It stops at a clean point (between steps) on abort or out of
 * time, and with a one-line UserError after `maxNonFiniteSteps` refused steps in a row.
 */
export async function runTrainingLoop<Batch, Result extends LoopStepResult>(
  options: TrainingLoopOptions<Batch, Result>,
): Promise<TrainingLoopEnd<Result>> {
  const { log, scalars } = options;
  const end: TrainingLoopEnd<Result> = {
    step: options.from,
    interrupted: false,
    outOfTime: false,
    nonFiniteStreak: 0,
  };
  while (end.step < options.to) {
    // A step is synchronous and a prefetched batch a resolved promise: without a turn of the
    // event loop, a Ctrl-C or SIGTERM handler would not run until some I/O came along.
    await nextTurn();
    if (options.signal?.aborted) {
      end.interrupted = true;
      break;
    }
    if (options.outOfTime?.()) {
      end.outOfTime = true;
      break;
    }
    const batch = await options.batch(end.step);
    let result: Result;
    try {
      result = options.learn(batch);
      const step = ++end.step;
      if (result.nonFinite) {
        end.nonFiniteStreak++;
        log.warn(`step ${step}: non-finite ${result.nonFinite} loss; nothing was updated`);
        if (end.nonFiniteStreak >= options.maxNonFiniteSteps)
          throw new UserError(
            `stopped at step ${step}: ${end.nonFiniteStreak} steps in a row had a non-finite loss ` +
              `(last: ${result.nonFinite}); ${options.lastGoodState}`,
          );
      } else end.nonFiniteStreak = 0;
      end.last = result;
      if (step % scalars.every === 0) {
        scalars.events.scalars({ ...stepScalars(result), ...scalars.extra?.(step) }, step);
        if (scalars.log) log.info({ step, ...result.losses, scores: result.scores }, 'step');
      }
      await options.withBatch?.(step, result, batch);
    } finally {
      options.dispose(batch);
    }
    await options.afterStep?.(end.step, result);
    options.progress?.(
      end.step,
      `D ${result.losses.discriminator.toFixed(3)} G ${result.losses.total.toFixed(3)}`,
    );
  }
  return end;
}

/** A step's losses, mean scores and gradient norms, by their TensorBoard tags. */
function stepScalars(result: LoopStepResult): Record<string, number> {
  return {
    ...Object.fromEntries(Object.entries(result.losses).map(([k, v]) => [`loss/${k}`, v])),
    'score/real': result.scores.real,
    'score/fake': result.scores.fake,
    ...Object.fromEntries(
      Object.entries(result.gradientNorms).map(([k, v]) => [`grad_norm/${k}`, v]),
    ),
  };
}
