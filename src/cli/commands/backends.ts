import {
  BACKEND_CHOICES,
  resolveBackendChoice,
  type BackendChoice,
  type ConcreteBackend,
} from '../../backend/choices';
import { autoPicks } from '../../backend/workload';
import { isUserError } from '../../errors';
import type { Logger } from '../../log';
import { defineCommand } from '../command';

export interface BackendStatus {
  name: ConcreteBackend;
  available: boolean;
  /** Why it is unavailable and how to install it; absent when available. */
  why?: string;
}

export interface BackendsReport {
  backends: BackendStatus[];
  /** What `--backend auto` runs on for training (the default workload); null when nothing is usable. */
  auto: ConcreteBackend | null;
  /** What auto picks for each kind of work the commands declare, and why. */
  autoByWorkload: { workload: string; backend: ConcreteBackend | null; reason: string }[];
  /** The choice from --backend or $TALKING_HEADS_BACKEND; 'auto' when neither is set. */
  requested: BackendChoice;
}

/** The thread settings the probes start each backend with. */
export interface BackendThreads {
  wasmThreads: number;
  threads: number;
}

const CONCRETE = BACKEND_CHOICES.filter((c): c is ConcreteBackend => c !== 'auto');

/** Starts `backend`; a UserError means unavailable, anything else is a bug and propagates. */
async function tryBackend(
  backend: BackendChoice,
  threads: BackendThreads,
  log: Logger,
): Promise<{ name: ConcreteBackend } | { why: string }> {
  const { initBackend } = await import('../../backend/select');
  try {
    return { name: (await initBackend({ backend, ...threads, log })).name };
  } catch (err) {
    if (isUserError(err)) return { why: err.message };
    throw err;
  }
}

/**
 * Asks initBackend itself about each backend, so the report cannot drift from what other
 * commands get. Each probe switches this process's tfjs backend, which is harmless here.
 */
export async function probeBackends(
  requested: BackendChoice,
  threads: BackendThreads,
  log: Logger,
): Promise<BackendsReport> {
  const backends: BackendStatus[] = [];
  for (const name of CONCRETE) {
    const result = await tryBackend(name, threads, log);
    backends.push(
      'why' in result ? { name, available: false, why: result.why } : { name, available: true },
    );
  }
  const auto = await tryBackend('auto', threads, log);
  const available = new Set(backends.filter((b) => b.available).map((b) => b.name));
  // tfjs-node-gpu is taken only where it sees a GPU: auto's own probe says whether it did.
  if ('name' in auto && auto.name !== 'tensorflow-gpu') available.delete('tensorflow-gpu');
  return {
    backends,
    auto: 'name' in auto ? auto.name : null,
    autoByWorkload: autoPicks(available),
    requested,
  };
}

export function formatReport(report: BackendsReport): string {
  const rows = report.backends.map((b) => [b.name, b.available ? 'yes' : 'no', b.why ?? '']);
  const table = [['BACKEND', 'AVAILABLE', 'NOTE'], ...rows];
  const widths = [0, 1].map((col) => Math.max(...table.map((row) => row[col]!.length)));
  const lines = table.map((row) =>
    row
      .map((cell, col) => (col < widths.length ? cell.padEnd(widths[col]!) : cell))
      .join('  ')
      .trimEnd(),
  );
  lines.push(`auto picks: ${report.auto ?? 'none'}`);
  if (report.autoByWorkload.length > 0) {
    lines.push(
      'by workload (train-meta, finetune, evaluate: training; preprocess, corpus, synth: faces;',
    );
    lines.push("  animate: generation at the model's size and width):");
    const width = Math.max(...report.autoByWorkload.map((w) => w.workload.length));
    for (const w of report.autoByWorkload)
      lines.push(`  ${w.workload.padEnd(width)}  ${(w.backend ?? 'none').padEnd(6)}  ${w.reason}`);
  }
  if (report.requested !== 'auto') {
    const ok = report.backends.find((b) => b.name === report.requested)?.available;
    lines.push(`requested: ${report.requested} (${ok ? 'available' : 'not available'})`);
  }
  return lines.join('\n') + '\n';
}

export const backendsCommand = defineCommand({
  command: 'backends',
  describe: 'List the tfjs backends, whether each can run here and why not, and what auto picks',
  builder: (parser) =>
    parser.option('json', {
      type: 'boolean',
      default: false,
      describe: 'Print JSON instead of a table',
    }),
  async run(args, ctx) {
    // A bad $TALKING_HEADS_BACKEND is reported here as a UserError, like every other command.
    const requested = resolveBackendChoice(args.backend, process.env);
    // At the default level the probes' "using backend" lines would only repeat the report.
    const probeLog = ctx.log.level === 'info' ? ctx.log.child({}, { level: 'warn' }) : ctx.log;
    const report = await probeBackends(
      requested,
      { wasmThreads: args.wasmThreads, threads: args.threads },
      probeLog,
    );
    ctx.stdout.write(args.json ? JSON.stringify(report, null, 2) + '\n' : formatReport(report));
  },
});
