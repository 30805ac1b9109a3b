import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { runCli } from '../../src/cli/main';
import { renderLineCharts } from '../../src/plot/lineChart';
import { EventWriter } from '../../src/train/tensorboard/eventWriter';
import { readRunCurves } from '../../src/train/tensorboard/runCurves';
import { capture, expectUserError } from '../cli/helpers';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'th-curves-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A run stopped after step 30 (last checkpoint at 20) and resumed: two event files. */
async function resumedRun(run: string): Promise<void> {
  const hour = 3600;
  const first = await EventWriter.create(run);
  const t0 = Date.now() / 1000;
  for (const [step, h] of [
    [10, 0.1],
    [20, 0.2],
    [30, 0.3],
  ] as const)
    first.scalar('eval/l1', step / 100, step, t0 + h * hour);
  await first.close();
  // The resumed start's file sorts after the first (its name carries a later second).
  const second = await EventWriter.create(run);
  const t1 = Date.now() / 1000;
  second.scalar('eval/l1', 0.25, 30, t1 + 0.1 * hour);
  second.scalar('eval/l1', 0.15, 40, t1 + 0.2 * hour);
  second.scalar('loss/total', 5, 40, t1 + 0.2 * hour);
  await second.close();
}

test('a resumed run is one curve over training hours: the gap left out, re-logged steps replaced', async () => {
  const run = path.join(dir, 'run');
  await resumedRun(run);
  const curves = await readRunCurves(run, ['eval/l1', 'loss/total']);
  const l1 = curves.get('eval/l1')!;
  expect(l1.map((p) => p.step)).toEqual([10, 20, 30, 40]);
  expect(l1.map((p) => p.value)).toEqual([0.1, 0.2, 0.25, 0.15].map(Math.fround));
  // The second file's clock starts where the first's last event (0.3 h) left it.
  const hours = l1.map((p) => p.hours);
  [0.1, 0.2, 0.4, 0.5].forEach((h, i) => expect(hours[i]).toBeCloseTo(h, 2));
  await expect(readRunCurves(run, ['eval/none'])).rejects.toThrow(
    /run: its events hold no scalar 'eval\/none'/,
  );
  await expect(readRunCurves(path.join(dir, 'missing'), ['eval/l1'])).rejects.toThrow(
    /missing: no such directory/,
  );
});

test('the chart: one panel per tag side by side, drawn lines and labels on white', async () => {
  const png = await renderLineCharts([
    {
      title: 'held-out L1',
      xLabel: 'hours',
      yLabel: 'L1',
      series: [
        { label: 'a', points: [0, 1, 2].map((x) => ({ x, y: 0.3 - x * 0.05 })) },
        { label: 'b', points: [0, 1, 2].map((x) => ({ x, y: 0.3 - x * 0.02 })) },
      ],
    },
    {
      title: 'flat',
      xLabel: 'steps',
      yLabel: 'v',
      series: [{ label: 'c', points: [{ x: 3, y: 1 }] }],
    },
  ]);
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  expect([info.width, info.height]).toEqual([2 * 520, 340]);
  // Some pixels carry the first series' blue, others are white background.
  let blue = 0;
  for (let i = 0; i < data.length; i += 3)
    if (data[i]! < 80 && data[i + 1]! > 90 && data[i + 1]! < 160 && data[i + 2]! > 150) blue++;
  expect(blue).toBeGreaterThan(100);
  expect(data[0]).toBe(255);
});

test("the curves command writes the PNG and prints each run's last values; a bad run is one line", async () => {
  const run = path.join(dir, 'run-cli');
  await resumedRun(run);
  const out = path.join(dir, 'curves.png');
  const result = await capture((io) =>
    runCli(['curves', run, '--tag', 'eval/l1', '--x', 'steps', '--out', out], io),
  );
  expect(result.code).toBe(0);
  expect(result.stdout).toContain('eval/l1 0.1500 at step 40 (0.50 h)');
  expect((await sharp(out).metadata()).width).toBe(520);
  expectUserError(
    await capture((io) => runCli(['curves', dir, '--out', out], io)),
    /holds no events\.out\.tfevents\.\* file \(not a run\?\)$/,
  );
});

test('a legend of many runs gets rows below the plot, inside the picture', async () => {
  const series = Array.from({ length: 8 }, (_, i) => ({
    label: `run${i}`,
    points: [0, 1].map((x) => ({ x, y: x + i })),
  }));
  const png = await renderLineCharts([{ title: 't', xLabel: 'x', yLabel: 'y', series }]);
  const { info } = await sharp(png).toBuffer({ resolveWithObject: true });
  // Three to a row: three rows, two more than the one the picture's height leaves room for.
  expect([info.width, info.height]).toEqual([520, 340 + 2 * 15]);
  // The last row's second entry (run7, in the first colour again) is drawn: blue pixels in
  // the bottom 30 rows, below the plot and the other two rows.
  const { data } = await sharp(png)
    .extract({ left: 0, top: info.height - 30, width: 520, height: 30 })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  let blue = 0;
  for (let i = 0; i < data.length; i += 3)
    if (data[i]! < 80 && data[i + 1]! > 90 && data[i + 1]! < 160 && data[i + 2]! > 150) blue++;
  expect(blue).toBeGreaterThan(10);
});
