import { Writable } from 'node:stream';
import { UserError } from '../../src/errors';
import { createLogger, silentLogger } from '../../src/log';
import { runTrainingLoop, type TrainingLoopOptions } from '../../src/train/trainingLoop';

interface FakeResult {
  losses: { discriminator: number; content: number; total: number };
  scores: { real: number; fake: number };
  gradientNorms: { generator: number; discriminator: number };
  nonFinite?: string;
}

/** A learner whose step n (from 1) is non-finite when `bad(n)`; records what the loop does. */
function fakeRun(bad: (step: number) => boolean = () => false) {
  const calls: string[] = [];
  const written: [number, Record<string, number>][] = [];
  const live = new Set<number>();
  let stepped = 0;
  const options: TrainingLoopOptions<number, FakeResult> = {
    from: 0,
    to: 6,
    batch: (done) => {
      live.add(done);
      calls.push(`batch ${done}`);
      return done;
    },
    learn: (batch) => {
      stepped++;
      return {
        losses: { discriminator: batch, content: 0.5, total: batch * 2 },
        scores: { real: 1, fake: -1 },
        gradientNorms: { generator: 3, discriminator: 4 },
        ...(bad(stepped) ? { nonFinite: 'content' } : {}),
      };
    },
    dispose: (batch) => {
      live.delete(batch);
      calls.push(`dispose ${batch}`);
    },
    maxNonFiniteSteps: 3,
    lastGoodState: 'the last good checkpoint is intact',
    log: silentLogger(),
    scalars: { events: { scalars: (r, step) => written.push([step, r]) }, every: 2 },
    withBatch: (step, _r, batch) => {
      calls.push(`with ${step} ${live.has(batch) ? 'live' : 'gone'}`);
    },
    afterStep: (step, _r) => {
      calls.push(`after ${step} ${live.size === 0 ? 'disposed' : 'live'}`);
    },
    progress: (step, losses) => calls.push(`progress ${step} ${losses}`),
  };
  return { options, calls, written, live };
}

test('runs from..to: batch, step, scalars every N, the batch alive for withBatch, then disposed', async () => {
  const run = fakeRun();
  const end = await runTrainingLoop({
    ...run.options,
    from: 2,
    scalars: { ...run.options.scalars, extra: (step) => ({ 'lr/x': step }) },
  });
  expect(end).toMatchObject({ step: 6, interrupted: false, outOfTime: false, nonFiniteStreak: 0 });
  expect(end.last?.losses.total).toBe(10);
  expect(run.calls.slice(0, 5)).toEqual([
    'batch 2',
    'with 3 live',
    'dispose 2',
    'after 3 disposed',
    'progress 3 D 2.000 G 4.000',
  ]);
  expect(run.live.size).toBe(0);
  expect(run.written.map(([step]) => step)).toEqual([4, 6]);
  expect(run.written[0]![1]).toEqual({
    'loss/discriminator': 3,
    'loss/content': 0.5,
    'loss/total': 6,
    'score/real': 1,
    'score/fake': -1,
    'grad_norm/generator': 3,
    'grad_norm/discriminator': 4,
    'lr/x': 4,
  });
});

test('maxNonFiniteSteps refused steps in a row stop the run with one line; a finite step resets the count', async () => {
  const lines: string[] = [];
  const log = createLogger({
    level: 'warn',
    pretty: false,
    destination: new Writable({
      write: (chunk: Buffer, _encoding, done) => {
        lines.push((JSON.parse(chunk.toString()) as { msg: string }).msg);
        done();
      },
    }),
  });
  // Steps 1-2 non-finite, 3 finite, 4-6 non-finite: the third in a row, step 6, stops the run.
  const run = fakeRun((n) => n !== 3);
  const loop = runTrainingLoop({ ...run.options, to: 100, log });
  await expect(loop).rejects.toThrow(UserError);
  await expect(loop).rejects.toThrow(
    /^stopped at step 6: 3 steps in a row had a non-finite loss \(last: content\); the last good checkpoint is intact$/,
  );
  expect(lines).toHaveLength(5);
  expect(lines[0]).toBe('step 1: non-finite content loss; nothing was updated');
  // The stopping step's batch is disposed, and nothing runs after the error.
  expect(run.live.size).toBe(0);
  expect(run.calls.at(-1)).toBe('dispose 5');
});

test('a run of non-finite steps at the end is reported, so that no checkpoint replaces a good one', async () => {
  const run = fakeRun((n) => n >= 5);
  const end = await runTrainingLoop(run.options);
  expect(end).toMatchObject({ step: 6, nonFiniteStreak: 2 });
  expect(end.last?.nonFinite).toBe('content');
});

test('a signal handler gets its turn between steps, even when no step does I/O', async () => {
  // A Ctrl-C handler runs as an event-loop task, like this one: with synchronous steps and
  // ready batches it would wait for the end of the run without the loop's turn.
  const controller = new AbortController();
  setImmediate(() => controller.abort());
  const end = await runTrainingLoop({
    ...fakeRun().options,
    to: 1000,
    batch: async (done) => done,
    signal: controller.signal,
  });
  expect(end.interrupted).toBe(true);
  expect(end.step).toBeLessThan(3);
});

test('an abort stops the run before the next step; so does the time bound', async () => {
  const controller = new AbortController();
  const run = fakeRun();
  const end = await runTrainingLoop({
    ...run.options,
    signal: controller.signal,
    progress: (step) => {
      if (step === 2) controller.abort();
    },
  });
  expect(end).toMatchObject({ step: 2, interrupted: true, outOfTime: false });
  expect(run.calls.filter((c) => c.startsWith('batch'))).toEqual(['batch 0', 'batch 1']);

  let checks = 0;
  const timed = await runTrainingLoop({ ...fakeRun().options, outOfTime: () => ++checks > 3 });
  expect(timed).toMatchObject({ step: 3, interrupted: false, outOfTime: true });

  const aborted = new AbortController();
  aborted.abort();
  const none = await runTrainingLoop({ ...fakeRun().options, signal: aborted.signal });
  expect(none).toEqual({ step: 0, interrupted: true, outOfTime: false, nonFiniteStreak: 0 });
});
