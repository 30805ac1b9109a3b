import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import pino from 'pino';
import { enableWasmThreads, wasmThreadsInUse } from '../../src/backend/wasm/threads';
import { relativeError } from '../helpers/compare';

/**
 * The threaded wasm backend runs in child processes (fixtures/threads-child.js): the backend
 * choice is process-global, and a jest worker must not be left holding pthread workers. Each
 * child must exit by itself: a pthread worker left ref'd would keep it alive.
 */

const CHILD = path.join(__dirname, 'fixtures', 'threads-child.js');
const EXIT_TIMEOUT_MS = 90_000;
const CONV_VALUES = 128 * 128 * 64;
const WASM_OUT = path.join(
  path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')),
  'wasm-out',
);
const BUILD = 'tfjs-backend-wasm-threaded-simd';

interface ChildReport {
  ok: boolean;
  backend: string;
  threadsInUse: number;
  warnings: string[];
}

interface ChildRun {
  report: ChildReport;
  conv: Float32Array;
  matmul: Float32Array;
}

let tmp: string;
let single: ChildRun;

function runChild(name: string, args: string[]): Promise<ChildRun> {
  const out = path.join(tmp, `${name}.bin`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, '--out', out, ...args], {
      cwd: path.resolve(__dirname, '..', '..'),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name}: child did not exit within ${EXIT_TIMEOUT_MS} ms\n${stderr}`));
    }, EXIT_TIMEOUT_MS);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) {
        reject(new Error(`${name}: child exited with ${code ?? signal}\n${stderr}`));
        return;
      }
      try {
        const report = JSON.parse(stdout.trim().split('\n').pop()!) as ChildReport;
        const bytes = fs.readFileSync(out);
        const all = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
        resolve({ report, conv: all.slice(0, CONV_VALUES), matmul: all.slice(CONV_VALUES) });
      } catch (err) {
        reject(new Error(`${name}: bad child output (${String(err)})\n${stdout}\n${stderr}`));
      }
    });
  });
}

/** A copy of the threaded build whose pthread worker script is replaced by `workerSource`. */
function brokenBuild(name: string, workerSource: string): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir);
  for (const ext of ['js', 'wasm']) {
    fs.symlinkSync(path.join(WASM_OUT, `${BUILD}.${ext}`), path.join(dir, `${BUILD}.${ext}`));
  }
  fs.writeFileSync(
    path.join(dir, `${BUILD}.worker.js`),
    `module.exports.wasmWorkerContents = ${JSON.stringify(workerSource)};\n`,
  );
  return dir;
}

/** Loaded with two threads and no warning (bar oversubscription, on a one-core machine). */
function expectThreaded(run: ChildRun): void {
  expect(run.report).toMatchObject({ ok: true, backend: 'wasm', threadsInUse: 2 });
  expect(run.report.warnings.filter((w) => !w.includes('oversubscribe'))).toEqual([]);
}

function expectSameAsSingle(run: ChildRun): void {
  expect(relativeError(run.conv, single.conv)).toBeLessThan(1e-4);
  expect(relativeError(run.matmul, single.matmul)).toBeLessThan(1e-4);
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'threads-test-'));
  single = await runChild('single', ['--threads', '1']);
}, EXIT_TIMEOUT_MS);

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('wasm threads (child processes)', () => {
  test('single-threaded reference run', () => {
    expect(single.report).toMatchObject({ ok: true, backend: 'wasm', threadsInUse: 1 });
    expect(single.conv.length).toBe(CONV_VALUES);
    expect(single.matmul.length).toBe(256 * 320);
    expect(single.conv.some((v) => v !== 0)).toBe(true);
  });

  test(
    'two threads: the threaded build loads, matches single-threaded wasm, and exits by itself',
    async () => {
      const run = await runChild('threads2', ['--threads', '2']);
      expectThreaded(run);
      expectSameAsSingle(run);
    },
    EXIT_TIMEOUT_MS,
  );

  test(
    'two threads, then tf.removeBackend: disposing the threaded backend neither hangs nor crashes',
    async () => {
      const run = await runChild('threads2-dispose', ['--threads', '2', '--dispose']);
      expectThreaded(run);
      expectSameAsSingle(run);
    },
    EXIT_TIMEOUT_MS,
  );

  test(
    'a pthread worker that throws while loading: warning, single-threaded wasm, clean exit',
    async () => {
      const dir = brokenBuild('throwing-worker', 'throw new Error("worker boom")');
      const run = await runChild('throwing', ['--threads', '2', '--wasm-out-dir', dir]);
      expect(run.report).toMatchObject({ ok: true, backend: 'wasm', threadsInUse: 1 });
      expect(run.report.warnings).toEqual([expect.stringContaining('worker boom')]);
      expectSameAsSingle(run);
    },
    EXIT_TIMEOUT_MS,
  );

  test(
    'pthread workers that never load: times out to single-threaded wasm, clean exit',
    async () => {
      const dir = brokenBuild('silent-worker', '');
      const run = await runChild('silent', [
        '--threads',
        '2',
        '--wasm-out-dir',
        dir,
        '--init-timeout-ms',
        '3000',
      ]);
      expect(run.report).toMatchObject({ ok: true, backend: 'wasm', threadsInUse: 1 });
      expect(run.report.warnings).toEqual([expect.stringContaining('not ready after 3000 ms')]);
      expectSameAsSingle(run);
    },
    EXIT_TIMEOUT_MS,
  );
});

describe('enableWasmThreads (in process, nothing initialised)', () => {
  function capture(): { log: pino.Logger; warnings: string[] } {
    const warnings: string[] = [];
    const log = pino(
      { level: 'debug' },
      {
        write: (line: string) => {
          const entry = JSON.parse(line) as { level: number; msg: string };
          if (entry.level >= 40) warnings.push(entry.msg);
        },
      },
    );
    return { log, warnings };
  }

  test('one thread is a no-op', () => {
    const { log, warnings } = capture();
    enableWasmThreads(1, log);
    expect(warnings).toEqual([]);
    expect(wasmThreadsInUse()).toBe(0);
  });

  test('warns and changes nothing when the wasm package is not loaded', () => {
    const { log, warnings } = capture();
    expect(tf.engine().registryFactory['wasm']).toBeUndefined();
    enableWasmThreads(2, log);
    expect(warnings).toEqual([expect.stringContaining('tfjs-backend-wasm is not loaded')]);
    expect(tf.engine().registryFactory['wasm']).toBeUndefined();
  });

  test('warns and keeps the stock factory when the threaded build is missing', async () => {
    await import('@tensorflow/tfjs-backend-wasm');
    const before = tf.engine().registryFactory['wasm'];
    expect(before).toBeDefined();
    const { log, warnings } = capture();
    enableWasmThreads(2, log, { wasmOutDir: path.join(tmp, 'nowhere') });
    expect(warnings).toEqual([expect.stringContaining('missing')]);
    expect(tf.engine().registryFactory['wasm']).toBe(before);
  });
});
