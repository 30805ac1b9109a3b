import { convShapeLabel } from './convShapes';
import { machineLine } from './machine';
import {
  CONV_PASSES,
  isSkipped,
  stepVariantLabel,
  type CaseResult,
  type ConvLayersSection,
  type ConvPass,
  type Measured,
  type Outcome,
  type StepSection,
  type SuiteResults,
} from './results';

/** Three significant figures or so, whatever the magnitude. */
export function formatNumber(x: number): string {
  if (x >= 100) return Math.round(x).toString();
  if (x >= 10) return x.toFixed(1);
  if (x >= 1) return x.toFixed(2);
  return x.toPrecision(2);
}

const PASS_NAMES: Record<ConvPass, string> = {
  forward: 'forward',
  backpropInput: 'backprop input',
  backpropFilter: 'backprop filter',
};

/**
 * A Markdown table whose skipped cells point to notes below it: "skipped (a)", with "(a) reason"
 * once per distinct reason.
 */
class Table {
  private readonly rows: string[][] = [];
  private readonly notes: string[] = [];

  constructor(private readonly header: string[]) {}

  /** A cell for a skipped item: a letter for its reason. */
  skipped(reason: string): string {
    let i = this.notes.indexOf(reason);
    if (i < 0) i = this.notes.push(reason) - 1;
    return `skipped (${String.fromCharCode(97 + (i % 26))}${i >= 26 ? Math.floor(i / 26) : ''})`;
  }

  /** The figure of an outcome, or its skip note. */
  figure(outcome: Outcome | undefined, show = (m: Measured) => formatNumber(m.figure)): string {
    if (outcome == null) return '';
    return isSkipped(outcome) ? this.skipped(outcome.skipped) : show(outcome);
  }

  add(row: string[]): void {
    this.rows.push(row);
  }

  render(): string {
    const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
    const lines = [line(this.header), line(this.header.map(() => '---')), ...this.rows.map(line)];
    if (this.notes.length) {
      lines.push('');
      this.notes.forEach((note, i) =>
        lines.push(
          `(${String.fromCharCode(97 + (i % 26))}${i >= 26 ? Math.floor(i / 26) : ''}) ${note}`,
        ),
      );
    }
    return lines.join('\n');
  }
}

/** Throughput of `a` over `b` when both ran: how many times faster the first is. */
function ratio(a: Outcome | undefined, b: Outcome | undefined): string {
  if (a == null || b == null || isSkipped(a) || isSkipped(b)) return '';
  return `${formatNumber(a.figure / b.figure)}x`;
}

function msCell(m: Measured): string {
  return `${formatNumber(m.medianMs)} (${formatNumber(m.minMs)}-${formatNumber(m.maxMs)})`;
}

function flopsTable(results: SuiteResults): string {
  const table = new Table(['preset', 'px', 'GFLOP per frame', 'convs', 'matrix products']);
  for (const g of results.generatorFlops) {
    if (g.gflopPerFrame == null) {
      table.add([g.preset, String(g.imageSize), table.skipped(g.skipped ?? ''), '', '']);
      continue;
    }
    const by = g.byKernel ?? {};
    const sum = (names: string[]) => names.reduce((s, n) => s + (by[n] ?? 0), 0);
    table.add([
      g.preset,
      String(g.imageSize),
      formatNumber(g.gflopPerFrame),
      formatNumber(sum(['Conv2D', 'FusedConv2D'])),
      formatNumber(sum(['BatchMatMul', '_FusedMatMul'])),
    ]);
  }
  return table.render();
}

/**
 * GFLOP/s of G's convs as a whole, each shape weighted by how often G runs it, over the shapes
 * that ran on every one of `backends`, and the share of G's conv FLOPs those shapes are.
 * Undefined when no shape ran on all of them.
 */
function wholeGenerator(
  section: ConvLayersSection,
  backends: readonly string[],
  pass: ConvPass,
): { rates: number[]; share: number } | undefined {
  let all = 0;
  let gflop = 0;
  const ms = backends.map(() => 0);
  for (const row of section.shapes) {
    const work = row.shape.count * row.gflop;
    all += work;
    const outcomes = backends.map((b) => row.results[b]?.[pass]);
    if (outcomes.some((o) => o == null || isSkipped(o))) continue;
    gflop += work;
    outcomes.forEach((o, i) => (ms[i]! += row.shape.count * (o as Measured).medianMs));
  }
  if (gflop === 0) return undefined;
  return { rates: ms.map((t) => (gflop * 1000) / t), share: gflop / all };
}

function convTables(section: ConvLayersSection, backends: string[]): string {
  const title = `### Conv layers of G, ${section.preset} at ${section.imageSize} px (GFLOP/s; batch 1, stride 1, 'same')`;
  if (section.skipped) return `${title}\n\nSkipped: ${section.skipped}.`;
  const table = new Table([
    'input, kernel -> output channels',
    'in G',
    'GFLOP',
    ...CONV_PASSES.flatMap((p) => backends.map((b) => `${PASS_NAMES[p]}, ${b}`)),
  ]);
  for (const row of section.shapes) {
    table.add([
      convShapeLabel(row.shape),
      `${row.shape.count}x`,
      formatNumber(row.gflop),
      ...CONV_PASSES.flatMap((p) => backends.map((b) => table.figure(row.results[b]?.[p]))),
    ]);
  }
  const [first, ...others] = backends;
  const whole = new Table(['pass', ...backends, ...others.map((b) => `${first}/${b}`)]);
  for (const pass of CONV_PASSES) {
    const cells = backends.map((b) => {
      const g = wholeGenerator(section, [b], pass);
      if (!g) return 'no shape ran';
      const rate = formatNumber(g.rates[0]!);
      return g.share < 1 ? `${rate} (${formatNumber(100 * g.share)}% of the FLOPs)` : rate;
    });
    const ratios = others.map((b) => {
      const g = wholeGenerator(section, [first!, b], pass);
      if (!g) return '';
      const r = `${formatNumber(g.rates[0]! / g.rates[1]!)}x`;
      return g.share < 1 ? `${r} (on ${formatNumber(100 * g.share)}%)` : r;
    });
    whole.add([PASS_NAMES[pass], ...cells, ...ratios]);
  }
  return [
    title,
    table.render(),
    "G's convs as a whole, each shape weighted by how often G runs it (GFLOP/s); where some shapes " +
      "were skipped, over those that ran, with their share of G's conv FLOPs, and ratios over the " +
      'shapes that ran on both backends:',
    whole.render(),
  ].join('\n\n');
}

function stepRows(table: Table, name: string, sections: StepSection[], backends: string[]): void {
  for (const s of sections) {
    const settings =
      `${s.k != null ? `K=${s.k}, ` : ''}batch ${s.batchSize}, ` +
      `${s.dStepsPerGStep} D step${s.dStepsPerGStep > 1 ? 's' : ''}, ` +
      stepVariantLabel(s) +
      (s.afterMetaSteps ? ' in the process' : '');
    const results = backends.map((b) => s.results[b]);
    const gflop = results.find((r) => r?.gflop != null)?.gflop;
    table.add([
      name,
      s.preset,
      String(s.imageSize),
      settings,
      gflop == null ? '' : formatNumber(gflop),
      ...results.map((r) => table.figure(r?.outcome, msCell)),
      ...results.map((r) => table.figure(r?.outcome)),
      ...results.slice(1).map((r) => ratio(results[0]?.outcome, r?.outcome)),
    ]);
  }
}

function stepTable(results: SuiteResults, backends: string[]): string {
  const [first, ...others] = backends;
  const table = new Table([
    'step',
    'preset',
    'px',
    'settings',
    'GFLOP',
    ...backends.map((b) => `ms, ${b}`),
    ...backends.map((b) => `GFLOP/s, ${b}`),
    ...others.map((b) => `${first}/${b}`),
  ]);
  stepRows(table, 'meta-learning', results.metaStep, backends);
  stepRows(table, 'fine-tuning', results.finetuneStep, backends);
  return table.render();
}

function generatorTable(results: SuiteResults, runtimes: string[]): string {
  const tfjs = runtimes.filter((r) => !r.startsWith('onnxruntime'));
  const first = tfjs[0];
  // Ratios of the faster to the slower, as in the other tables: the first tfjs backend over the
  // other tfjs ones, onnxruntime over the first tfjs backend.
  const pairs = runtimes
    .filter((r) => r !== first && first != null)
    .map((r) => (r.startsWith('onnxruntime') ? [r, first!] : [first!, r]) as [string, string]);
  const table = new Table([
    'preset',
    'px',
    'GFLOP per frame',
    ...runtimes.map((r) => (r.startsWith('onnxruntime') ? r.replace(/-/g, ' ') : `tfjs ${r}`)),
    ...pairs.map(([a, b]) => `${a}/${b}`),
  ]);
  for (const s of results.generatorFps) {
    const gflop = Object.values(s.results).find((r) => r.gflop != null)?.gflop;
    const cell = (r: CaseResult | undefined) =>
      table.figure(r?.outcome, (m) =>
        r?.gflop == null
          ? formatNumber(m.figure)
          : `${formatNumber(m.figure)} (${formatNumber((r.gflop * 1000) / m.medianMs)} GFLOP/s)`,
      );
    table.add([
      s.preset,
      String(s.imageSize),
      gflop == null ? '' : formatNumber(gflop / s.batchSize),
      ...runtimes.map((r) => cell(s.results[r])),
      ...pairs.map(([a, b]) => ratio(s.results[a]?.outcome, s.results[b]?.outcome)),
    ]);
  }
  return table.render();
}

function preprocessTable(results: SuiteResults, backends: string[]): string {
  const p = results.preprocess;
  const table = new Table(['backend', 'stored frames/s', 'decoded frames/s', 'ms per clip']);
  for (const b of backends) {
    const r = p.results[b];
    table.add([
      b,
      table.figure(r?.outcome),
      r?.decodedFps == null ? '' : formatNumber(r.decodedFps),
      table.figure(r?.outcome, msCell),
    ]);
  }
  return [
    `One ${p.clipFrames}-frame ${p.clipWidth}x${p.clipHeight} face clip per run, ${p.sampledFrames} frames sampled, stored at ${p.size} px (face-api on each backend):`,
    table.render(),
  ].join('\n\n');
}

function rssTable(results: SuiteResults, runtimes: string[]): string {
  const table = new Table(['case', ...runtimes]);
  const mib = (r: { peakRssMiB?: number } | undefined) =>
    r?.peakRssMiB == null ? '-' : r.peakRssMiB.toFixed(0);
  for (const c of results.convLayers)
    table.add([`conv layers, ${c.preset}`, ...runtimes.map((r) => mib(c.processes[r]))]);
  for (const g of results.generatorFps)
    table.add([`generator, ${g.preset}`, ...runtimes.map((r) => mib(g.results[r]))]);
  for (const [name, sections] of [
    ['meta-learning step', results.metaStep],
    ['fine-tuning step', results.finetuneStep],
  ] as const)
    for (const s of sections)
      table.add([
        `${name}, ${s.preset}, ${stepVariantLabel(s)}`,
        ...runtimes.map((r) => mib(s.results[r])),
      ]);
  table.add(['preprocess', ...runtimes.map((r) => mib(results.preprocess.results[r]))]);
  return table.render();
}

/** The results as Markdown: the machine, then one table per benchmark family. */
export function renderMarkdown(results: SuiteResults): string {
  const backends = results.backends.filter((b) => b.available && b.why == null).map((b) => b.name);
  const runtimes = [...backends, 'onnxruntime', 'onnxruntime-1-thread'];
  const m = results.machine;
  const runs = results.metaStep
    .flatMap((s) => Object.values(s.results))
    .map((r) => r.outcome)
    .find((o): o is Measured => !isSkipped(o))?.runs;
  // The full reasons are in the JSON; unavailable ones carry install hints too long for here.
  const notBenched = results.backends
    .filter((b) => b.why != null)
    .map((b) => `${b.name} (${b.available ? b.why : 'not available here'})`);
  return (
    [
      `## Benchmarks: ${machineLine(m)}`,
      `Medians of ${runs ?? 'several'} timed runs after a warm-up; min-max in brackets. ` +
        `Suite time ${formatNumber(results.seconds)} s.` +
        (notBenched.length ? ` Not benchmarked: ${notBenched.join('; ')}.` : ''),
      '### Generator FLOPs (counted from the kernels one frame runs, batch 1)',
      flopsTable(results),
      ...results.convLayers.map((s) => convTables(s, backends)),
      '### Training steps (ms per step; GFLOP/s from the FLOPs counted in the step)',
      stepTable(results, backends),
      '### Generator frames per second (batch 1, fine-tuned person model)',
      generatorTable(results, runtimes),
      '### Preprocessing',
      preprocessTable(results, backends),
      '### Peak RSS of each case (MiB)',
      rssTable(results, runtimes),
    ].join('\n\n') + '\n'
  );
}
