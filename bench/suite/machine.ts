import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Machine, SuiteMode } from './results';

/** A package's installed version, or null when it is not installed. */
function installedVersion(name: string): string | null {
  try {
    const manifest = require.resolve(`${name}/package.json`);
    return String(JSON.parse(fs.readFileSync(manifest, 'utf8')).version);
  } catch {
    return null;
  }
}

/** Local calendar date, YYYY-MM-DD: the results file's name starts with it. */
export function localDate(now: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `${now.getFullYear()}-${two(now.getMonth() + 1)}-${two(now.getDate())}`;
}

/** The machine and software the figures were taken on. */
export function describeMachine(mode: SuiteMode, now: Date): Machine {
  const cpus = os.cpus();
  return {
    host: os.hostname(),
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    totalRamGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    tfjs: installedVersion('@tensorflow/tfjs') ?? 'unknown',
    onnxruntime: installedVersion('onnxruntime-node'),
    date: now.toISOString(),
    mode,
    quick: mode === 'quick',
  };
}

/** `<dir>/<YYYY-MM-DD>-<hostname>`, the hostname reduced to file-name-safe characters. */
export function resultsStem(dir: string, machine: Machine, now: Date): string {
  const host = machine.host.replace(/[^A-Za-z0-9._-]/g, '_') || 'host';
  return path.join(dir, `${localDate(now)}-${host}`);
}

/** One line for the Markdown heading. */
export function machineLine(m: Machine): string {
  return (
    `${m.cpu}, ${m.cores} cores, ${m.totalRamGiB} GiB RAM, ${m.os}, Node ${m.node}, ` +
    `tfjs ${m.tfjs}, onnxruntime-node ${m.onnxruntime ?? 'not installed'}, ${m.date.slice(0, 16).replace('T', ' ')} UTC` +
    `${m.mode === 'full' ? '' : `, ${m.mode} run`}`
  );
}
