import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors';
import type { Logger } from '../log';
import { printable } from '../oneLine';
import type { CommandContext } from '../cli/context';
import { loadTrainConfig } from '../train/loadConfig';
import { defaultMetaCheckpoint, openMetaCheckpoint } from '../train/metaCheckpoint';
import { writeFileAtomically } from '../fileSystem';
import { demoFiles, demoStages, type DemoSettings } from './demoStages';

/** One step of the pipeline; `run` resolves to an exit status (0 ok, 130 Ctrl-C, else failed). */
export interface DemoStage {
  name: string;
  /** What the stage does, for its header line. */
  describe: string;
  run(): Promise<number>;
}

/** The demo's record of finished stages: what --resume skips. */
export interface DemoState {
  minutes: number;
  /** Whether the demo meta-learns itself: a resumed demo keeps its own choice. */
  fromScratch?: boolean;
  done: string[];
  /** Seconds spent in stages that stopped before finishing (meta-learning's budget shrinks). */
  spent: Record<string, number>;
}

const STATE_FILE = 'demo.json';

function readState(out: string): DemoState | undefined {
  const file = path.join(out, STATE_FILE);
  if (!fs.existsSync(file)) return undefined;
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as DemoState;
  } catch {
    throw new UserError(`${printable(file)}: not a demo state file; use another --out`);
  }
}

/**
 * Where a demo run starts: a fresh `out` (absent or empty), or with `resume` one that a stopped
 * demo left, whose finished stages are skipped. A used directory without --resume is refused,
 * so nothing already made is overwritten.
 */
export function openDemoState(out: string, minutes: number, resume: boolean): DemoState {
  const state = readState(out);
  if (resume) {
    if (!state) throw new UserError(`${printable(out)}: no demo to resume here (no ${STATE_FILE})`);
    return state;
  }
  if (fs.existsSync(out) && fs.readdirSync(out).length > 0)
    throw new UserError(
      `${printable(out)}: not empty; give --resume to continue the demo there, or another --out`,
    );
  fs.mkdirSync(out, { recursive: true });
  return { minutes, done: [], spent: {} };
}

export async function saveDemoState(out: string, state: DemoState): Promise<void> {
  await writeFileAtomically(path.join(out, STATE_FILE), JSON.stringify(state, null, 2) + '\n');
}

/**
 * Runs the stages in order, skipping those `state` records as done and recording each one that
 * finishes, so a demo stopped by Ctrl-C or a failure continues with --resume. Returns the first
 * non-zero status, or 0.
 */
export async function runStages(
  out: string,
  state: DemoState,
  stages: readonly DemoStage[],
  log: Logger,
  header: (line: string) => void,
): Promise<number> {
  for (const [i, stage] of stages.entries()) {
    const where = `[${i + 1}/${stages.length}] ${stage.name}`;
    if (state.done.includes(stage.name)) {
      header(`${where}: done in an earlier run, skipped`);
      continue;
    }
    header(`${where}: ${stage.describe}`);
    const started = Date.now();
    const status = await stage.run();
    const seconds = (Date.now() - started) / 1000;
    if (status !== 0) {
      state.spent[stage.name] = (state.spent[stage.name] ?? 0) + seconds;
      await saveDemoState(out, state);
      return status;
    }
    log.info({ stage: stage.name, seconds }, 'stage done');
    state.done.push(stage.name);
    await saveDemoState(out, state);
  }
  return 0;
}

export interface DemoOptions {
  out: string;
  /** Meta-learning minutes with settings.fromScratch (a new demo; a resumed one keeps its own). */
  minutes: number;
  resume: boolean;
  settings: DemoSettings;
  /** Runs one CLI command in this process with the demo's global options; its exit status. */
  cli: (argv: string[]) => Promise<number>;
  ctx: Pick<CommandContext, 'stdout' | 'stderr' | 'initBackend' | 'log' | 'progress'>;
}

/**
 * The demo end to end: the stages of demoStages in order, resumable, then a list of where
 * everything went. Resolves to the exit status (0, 130 after Ctrl-C, or a stage's failure).
 */
export async function runDemo(options: DemoOptions): Promise<number> {
  const { out, ctx } = options;
  const state = openDemoState(out, options.minutes, options.resume);
  state.fromScratch ??= options.settings.fromScratch;
  const settings = state.fromScratch
    ? { ...options.settings, ...options.settings.fromScratchEpochs, fromScratch: true }
    : { ...options.settings, fromScratch: false };
  await saveDemoState(out, state);
  const files = demoFiles(out);
  const config = settings.fromScratch
    ? loadTrainConfig(settings.config, settings.configOverrides)
    : (await openMetaCheckpoint(defaultMetaCheckpoint())).trainConfig;
  const stages = demoStages({ files, settings, config, state, cli: options.cli, ctx });
  const started = Date.now();
  const status = await runStages(out, state, stages, ctx.log, (line) =>
    ctx.stderr.write(`\n${line}\n`),
  );
  if (status !== 0) {
    const again = `run it again with --out ${out} --resume`;
    ctx.stderr.write(
      status === 130
        ? `demo stopped; ${again} to continue\n`
        : `demo failed at a stage (exit ${status}); fix the problem above, then ${again}\n`,
    );
    return status;
  }
  const minutes = ((Date.now() - started) / 60000).toFixed(1);
  ctx.stdout.write(
    [
      '',
      `demo finished in ${minutes} min; everything is in ${out}:`,
      ...(settings.fromScratch
        ? [
            `  corpus                    ${files.corpus}: meta-learning store ${files.trainStore}, held-out ${files.heldoutStore}`,
            `  meta-learning run         ${files.run}`,
            `  TensorBoard               tensorboard --logdir ${files.run}`,
          ]
        : [
            `  meta-learned model        ${defaultMetaCheckpoint()} (shipped; --from-scratch trains one)`,
            `  held-out store            ${files.heldoutStore}`,
          ]),
      `  webcam speaker (8 shots)  ${files.speaker}`,
      `  Mona Lisa (1 shot)        ${files.mona}`,
      `  animations                ${files.speakerAnimation}, ${files.monaAnimation} (driver | landmarks | output)`,
      `  still strip               ${files.strip}`,
      `  ONNX generator            ${files.onnx}`,
      `  evaluation report         ${path.join(files.evaluation, 'report.md')}`,
      '',
    ].join('\n'),
  );
  return 0;
}
