import { meanInterval, type MeanInterval } from './confidence';
import type { EvaluationUnit, SkippedUnit } from './evaluationPlan';
import { METRICS, type FrameScores, type MetricName } from './frameScores';

/** What one finished unit leaves on disk (one line of units.jsonl). */
export interface UnitRecord extends EvaluationUnit {
  /** Per method, per metric, one value per target frame. */
  methods: Record<string, FrameScores>;
  finetuneSeconds?: number;
  nonFiniteSteps: number;
}

/** FID of one method at one shot count, or why there is none. */
export type FidResult = { value: number; generated: number; real: number } | { skipped: string };

export interface ShotCountResult {
  shots: number;
  videos: number;
  frames: number;
  /** Per method, per metric: the mean over videos of each video's mean, with a 95% interval. */
  methods: Record<string, Record<MetricName, MeanInterval>>;
  fid?: Record<string, FidResult>;
}

export interface VideoResult {
  video: string;
  /** Across recordings: the video the shots came from. */
  shotVideo?: string;
  identity: string;
  shots: number;
  frames: number;
  methods: Record<string, Record<MetricName, number>>;
  finetuneSeconds?: number;
  nonFiniteSteps: number;
}

export interface EvaluationReport {
  kind: 'talking-heads evaluation';
  version: string;
  createdAt: string;
  checkpoint: { dir: string; id: string; step: number };
  store: string;
  split: string;
  settings: Record<string, unknown>;
  metrics: { name: string; label: string; better: string; description: string }[];
  /** Model methods first, then the baselines. */
  methods: string[];
  /** False when the run was interrupted: the figures cover the units done so far. */
  complete: boolean;
  unitsDone: number;
  unitsPlanned: number;
  skipped: SkippedUnit[];
  /** Whether FID was computed, and if not, why. */
  fid: { computed: true; weights: string } | { computed: false; reason: string };
  intervals: string;
  results: ShotCountResult[];
  videos: VideoResult[];
}

const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / values.length;

/** Each video's mean of each metric, per method. */
export function videoResult(record: UnitRecord): VideoResult {
  const methods: VideoResult['methods'] = {};
  for (const [method, scores] of Object.entries(record.methods))
    methods[method] = Object.fromEntries(
      METRICS.map(({ name }) => [name, mean(scores[name])]),
    ) as Record<MetricName, number>;
  return {
    video: record.video,
    ...(record.shotVideo !== undefined && { shotVideo: record.shotVideo }),
    identity: record.identity,
    shots: record.shots,
    frames: record.targetFrames.length,
    methods,
    ...(record.finetuneSeconds !== undefined && { finetuneSeconds: record.finetuneSeconds }),
    nonFiniteSteps: record.nonFiniteSteps,
  };
}

/**
 * Per shot count: every method's metrics as the mean over videos of the per-video means, with
 * a 95% t-interval over videos (frames of one clip are not independent samples).
 */
export function shotCountResults(
  records: readonly UnitRecord[],
  shotCounts: readonly number[],
  methods: readonly string[],
): ShotCountResult[] {
  const videos = records.map(videoResult);
  return shotCounts.flatMap((shots) => {
    const these = videos.filter((v) => v.shots === shots);
    if (these.length === 0) return [];
    const byMethod: ShotCountResult['methods'] = {};
    for (const method of methods)
      byMethod[method] = Object.fromEntries(
        METRICS.map(({ name }) => [name, meanInterval(these.map((v) => v.methods[method]![name]))]),
      ) as Record<MetricName, MeanInterval>;
    return [
      {
        shots,
        videos: these.length,
        frames: these.reduce((a, v) => a + v.frames, 0),
        methods: byMethod,
      },
    ];
  });
}

const DIGITS: Record<MetricName, number> = {
  l1: 4,
  psnr: 2,
  ssim: 4,
  csim: 4,
  verified: 4,
  nme: 4,
  detected: 4,
};

export function formatInterval(value: MeanInterval, metric: MetricName): string {
  const d = DIGITS[metric];
  if (!Number.isFinite(value.mean)) return 'n/a';
  return value.halfWidth === undefined
    ? value.mean.toFixed(d)
    : `${value.mean.toFixed(d)} ± ${value.halfWidth.toFixed(d)}`;
}

function formatFid(fid: FidResult | undefined): string {
  if (!fid) return '';
  return 'value' in fid ? fid.value.toFixed(2) : 'skipped';
}

/** The best method's name per metric (ties: the first). */
function bestMethods(result: ShotCountResult, methods: readonly string[]): Map<MetricName, string> {
  const best = new Map<MetricName, string>();
  for (const { name, better } of METRICS) {
    let winner: string | undefined;
    for (const m of methods) {
      const v = result.methods[m]![name].mean;
      const w = winner === undefined ? undefined : result.methods[winner]![name].mean;
      if (w === undefined || (better === 'higher' ? v > w : v < w)) winner = m;
    }
    if (winner) best.set(name, winner);
  }
  return best;
}

/** Rows of cells for one shot count: a header row, then one row per method. */
function tableRows(result: ShotCountResult, report: EvaluationReport, mark: (s: string) => string) {
  const withFid = report.fid.computed;
  const best = bestMethods(result, report.methods);
  const header = [
    'method',
    ...METRICS.map((m) => `${m.label} ${m.better === 'higher' ? '↑' : '↓'}`),
  ];
  if (withFid) header.push('FID ↓');
  const rows = report.methods.map((method) => {
    const cells = METRICS.map(({ name }) => {
      const text = formatInterval(result.methods[method]![name], name);
      return best.get(name) === method ? mark(text) : text;
    });
    if (withFid) cells.push(formatFid(result.fid?.[method]));
    return [method, ...cells];
  });
  return [header, ...rows];
}

/** Plain-text tables for the terminal, best value per column starred. */
export function terminalTables(report: EvaluationReport): string {
  const parts: string[] = [];
  for (const result of report.results) {
    const rows = tableRows(result, report, (s) => `${s} *`);
    const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
    const line = (r: string[]) =>
      r
        .map((cell, c) => cell.padEnd(widths[c]!))
        .join('  ')
        .trimEnd();
    parts.push(
      `${result.shots} shot${result.shots === 1 ? '' : 's'}: ${result.videos} videos, ${result.frames} frames`,
      line(rows[0]!),
      widths.map((w) => '-'.repeat(w)).join('  '),
      ...rows.slice(1).map(line),
      '',
    );
  }
  parts.push(`* best in its column; ± is a ${report.intervals}`);
  parts.push(fidLine(report));
  if (!report.complete)
    parts.push(`INCOMPLETE: ${report.unitsDone} of ${report.unitsPlanned} units were evaluated`);
  return parts.join('\n') + '\n';
}

function fidLine(report: EvaluationReport): string {
  return report.fid.computed
    ? `FID: pytorch-fid's Inception (pool3, 2048-d) from ${report.fid.weights}`
    : `FID: skipped (${report.fid.reason})`;
}

const markdownRow = (cells: string[]) => `| ${cells.join(' | ')} |`;

/** The report as Markdown: settings, one table per shot count, per-video tables, skips. */
export function markdownReport(report: EvaluationReport): string {
  const out: string[] = [
    '# Self-reenactment evaluation',
    '',
    `- checkpoint: \`${report.checkpoint.dir}\` (${report.checkpoint.id}, step ${report.checkpoint.step})`,
    `- store: \`${report.store}\`, split: ${report.split}`,
    `- settings: ${Object.entries(report.settings)
      .map(([k, v]) => `${k} ${JSON.stringify(v)}`)
      .join(', ')}`,
    `- ${report.complete ? 'complete' : `**incomplete**: ${report.unitsDone} of ${report.unitsPlanned} units`}; written ${report.createdAt} by talking-heads ${report.version}`,
    `- ${fidLine(report)}`,
    `- ± is a ${report.intervals}; **bold** is the best method in its column`,
    '',
    '## Metrics',
    '',
    ...report.metrics.map((m) => `- **${m.label}** (${m.better} is better): ${m.description}`),
    '',
  ];
  for (const result of report.results) {
    const rows = tableRows(result, report, (s) => `**${s}**`);
    out.push(
      `## ${result.shots} shot${result.shots === 1 ? '' : 's'} (${result.videos} videos, ${result.frames} frames)`,
      '',
      markdownRow(rows[0]!),
      markdownRow(rows[0]!.map(() => '---')),
      ...rows.slice(1).map(markdownRow),
      '',
    );
  }
  out.push('## Per video', '');
  const header = ['video', 'shots', 'method', ...METRICS.map((m) => m.label)];
  out.push(markdownRow(header), markdownRow(header.map(() => '---')));
  for (const v of report.videos)
    for (const method of report.methods)
      out.push(
        markdownRow([
          v.shotVideo === undefined ? v.video : `${v.video} (shots from ${v.shotVideo})`,
          String(v.shots),
          method,
          ...METRICS.map(({ name }) => v.methods[method]![name].toFixed(DIGITS[name])),
        ]),
      );
  out.push('');
  if (report.skipped.length > 0) {
    out.push('## Skipped', '');
    for (const s of report.skipped) out.push(`- ${s.video}, ${s.shots} shots: ${s.reason}`);
    out.push('');
  }
  return out.join('\n');
}
