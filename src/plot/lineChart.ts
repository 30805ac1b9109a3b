import sharp from 'sharp';

export interface ChartSeries {
  label: string;
  points: { x: number; y: number }[];
}

export interface ChartPanel {
  title: string;
  xLabel: string;
  yLabel: string;
  series: ChartSeries[];
}

const PANEL_WIDTH = 520;
const PANEL_HEIGHT = 340;
const MARGIN = { left: 64, right: 16, top: 34, bottom: 74 };
/** Legend entries a row; rows are added below the plot as the series need them. */
const LEGEND_COLUMNS = 3;
const LEGEND_ROW = 15;
const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#17becf'];

/**
 * Line charts side by side as one PNG (an SVG rendered by sharp): for curves kept in the repo,
 * where TensorBoard is not at hand. Each panel has its own axes, ticks at round values, and a
 * legend under it.
 */
export async function renderLineCharts(panels: readonly ChartPanel[]): Promise<Buffer> {
  const width = PANEL_WIDTH * panels.length;
  const legendRows = Math.max(1, ...panels.map((p) => Math.ceil(p.series.length / LEGEND_COLUMNS)));
  const height = PANEL_HEIGHT + (legendRows - 1) * LEGEND_ROW;
  const body = panels.map((panel, i) => panelSvg(panel, i * PANEL_WIDTH)).join('\n');
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `font-family="sans-serif" font-size="12">` +
    `<rect width="${width}" height="${height}" fill="white"/>${body}</svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

function panelSvg(panel: ChartPanel, left: number): string {
  const all = panel.series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.y));
  const x = axis(
    all.map((p) => p.x),
    true,
  );
  const y = axis(
    all.map((p) => p.y),
    false,
  );
  const plotW = PANEL_WIDTH - MARGIN.left - MARGIN.right;
  const plotH = PANEL_HEIGHT - MARGIN.top - MARGIN.bottom;
  const px = (v: number) => left + MARGIN.left + ((v - x.min) / (x.max - x.min)) * plotW;
  const py = (v: number) => MARGIN.top + plotH - ((v - y.min) / (y.max - y.min)) * plotH;
  const parts: string[] = [];
  parts.push(
    `<text x="${left + PANEL_WIDTH / 2}" y="20" text-anchor="middle" font-size="14">${escape(panel.title)}</text>`,
  );
  for (const t of x.ticks) {
    parts.push(
      `<line x1="${px(t)}" x2="${px(t)}" y1="${MARGIN.top}" y2="${MARGIN.top + plotH}" stroke="#eee"/>`,
      `<text x="${px(t)}" y="${MARGIN.top + plotH + 16}" text-anchor="middle">${format(t)}</text>`,
    );
  }
  for (const t of y.ticks) {
    parts.push(
      `<line x1="${left + MARGIN.left}" x2="${left + MARGIN.left + plotW}" y1="${py(t)}" y2="${py(t)}" stroke="#eee"/>`,
      `<text x="${left + MARGIN.left - 6}" y="${py(t) + 4}" text-anchor="end">${format(t)}</text>`,
    );
  }
  parts.push(
    `<rect x="${left + MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#444"/>`,
    `<text x="${left + MARGIN.left + plotW / 2}" y="${MARGIN.top + plotH + 34}" text-anchor="middle">${escape(panel.xLabel)}</text>`,
    `<text transform="translate(${left + 14},${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escape(panel.yLabel)}</text>`,
  );
  panel.series.forEach((series, i) => {
    const colour = COLOURS[i % COLOURS.length]!;
    const finite = series.points.filter((p) => Number.isFinite(p.y));
    if (finite.length > 0) {
      const d = finite
        .map((p, j) => `${j === 0 ? 'M' : 'L'}${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`)
        .join(' ');
      parts.push(`<path d="${d}" fill="none" stroke="${colour}" stroke-width="1.8"/>`);
    }
    const lx = left + MARGIN.left + (i % LEGEND_COLUMNS) * (plotW / LEGEND_COLUMNS);
    const ly = MARGIN.top + plotH + 52 + Math.floor(i / LEGEND_COLUMNS) * LEGEND_ROW;
    parts.push(
      `<line x1="${lx}" x2="${lx + 18}" y1="${ly - 4}" y2="${ly - 4}" stroke="${colour}" stroke-width="2.5"/>`,
      `<text x="${lx + 24}" y="${ly}">${escape(series.label)}</text>`,
    );
  });
  return parts.join('\n');
}

/** A range padded to round ticks (about five); the x axis starts at zero when the data do. */
function axis(values: number[], fromZero: boolean): { min: number; max: number; ticks: number[] } {
  let min = values.length ? Math.min(...values) : 0;
  let max = values.length ? Math.max(...values) : 1;
  if (fromZero && min >= 0) min = 0;
  if (max === min) {
    max += Math.abs(max) * 0.1 || 1;
    min -= fromZero ? 0 : Math.abs(min) * 0.1 || 1;
  }
  const rough = (max - min) / 5;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= rough)!;
  const lo = Math.floor(min / step) * step;
  const hi = Math.ceil(max / step) * step;
  const ticks: number[] = [];
  for (let t = lo; t <= hi + step / 2; t += step) ticks.push(Number(t.toPrecision(12)));
  return { min: lo, max: hi, ticks };
}

function format(v: number): string {
  return Math.abs(v) >= 1000 || (v !== 0 && Math.abs(v) < 0.001)
    ? v.toExponential(1)
    : String(Number(v.toPrecision(4)));
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
