import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../../errors';
import { printable } from '../../oneLine';
import { readEventFile } from './eventReader';

export interface CurvePoint {
  step: number;
  /** Hours of training before this value: gaps between a stop and its resume left out. */
  hours: number;
  value: number;
}

/**
 * Each requested scalar tag of a run directory as a curve over training time. A resumed run has
 * one event file per start (file names sort by start time); each file's clock starts where the
 * previous file's last event left it, and values a later start logged again (the steps after
 * the checkpoint it resumed from) replace the earlier ones.
 */
export async function readRunCurves(
  runDir: string,
  tags: readonly string[],
): Promise<Map<string, CurvePoint[]>> {
  let names: string[];
  try {
    names = (await fsp.readdir(runDir)).filter((n) => n.startsWith('events.out.tfevents.')).sort();
  } catch {
    throw new UserError(`${printable(runDir)}: no such directory`);
  }
  if (names.length === 0)
    throw new UserError(`${printable(runDir)}: holds no events.out.tfevents.* file (not a run?)`);
  const curves = new Map<string, CurvePoint[]>(tags.map((t) => [t, []]));
  let offset = 0;
  for (const name of names) {
    const events = await readEventFile(path.join(runDir, name), { allowTruncatedTail: true });
    if (events.length === 0) continue;
    const start = events[0]!.wallTime;
    const firstStep = Math.min(...events.filter((e) => e.kind === 'scalar').map((e) => e.step));
    for (const points of curves.values()) {
      while (points.length > 0 && points[points.length - 1]!.step >= firstStep) points.pop();
    }
    let last = start;
    for (const event of events) {
      last = Math.max(last, event.wallTime);
      if (event.kind !== 'scalar') continue;
      const points = curves.get(event.tag);
      if (points)
        points.push({
          step: event.step,
          hours: offset + (event.wallTime - start) / 3600,
          value: event.value,
        });
    }
    offset += (last - start) / 3600;
  }
  for (const [tag, points] of curves) {
    if (points.length === 0)
      throw new UserError(`${printable(runDir)}: its events hold no scalar '${tag}'`);
  }
  return curves;
}
