import { spawn } from 'node:child_process';
import { shouldRelaunch, withMallocTunables } from '../../src/cli/mallocRelaunch';
import * as path from 'node:path';
import type { CaseArgs, CaseName, CaseReport, CaseTypes } from './caseTypes';

const ROOT = path.join(__dirname, '..', '..');
const CASE_SCRIPT = path.join(__dirname, 'case.ts');

export interface ChildDone<N extends CaseName> {
  figures: CaseTypes[N]['figures'];
  peakRssMiB: number;
  seconds: number;
}

export interface ChildFailed {
  /** One line: "does not fit: ...", "failed: ...", "stopped after ...". */
  skipped: string;
  peakRssMiB?: number;
  seconds: number;
}

/** wasm's heap is capped at 4 GiB; running out aborts the module with one of these. */
const WASM_HEAP_ERROR =
  /Aborted\(|Cannot enlarge memory|out of memory|memory access out of bounds/i;
/**
 * What wasm prints on stderr when its heap runs out: emscripten's abort, or XNNPACK failing to
 * allocate an operator (status 6 is xnn_status_out_of_memory).
 */
const WASM_HEAP_STDERR =
  /^.*(\bAborted\(|XNN status for \w+ is not successful\. Got status 6\b).*$/m;

/**
 * One line for a case that reported `error`. On wasm, an exhausted heap is recognised from the
 * error or from stderr: after XNNPACK fails to allocate, the error the case reports is a later,
 * unrelated-looking one.
 */
export function failureReason(
  error: string,
  backend: string,
  seconds: number,
  stderr: string,
): string {
  if (backend === 'wasm') {
    const printed = WASM_HEAP_STDERR.exec(stderr)?.[0].trim();
    if (WASM_HEAP_ERROR.test(error) || printed) {
      const detail = printed && !WASM_HEAP_ERROR.test(error) ? `${printed}; then ${error}` : error;
      return `does not fit: the wasm heap (4 GiB) ran out after ${seconds.toFixed(0)} s (${detail})`;
    }
  }
  if (/out of memory|Allocation failed/i.test(error)) return `does not fit: ${error}`;
  return `failed: ${error}`;
}

/** The last stdout line that is a case report: libraries may print lines of their own. */
function findReport<N extends CaseName>(stdout: string): CaseReport<N> | undefined {
  const lines = stdout.split('\n').reverse();
  for (const line of lines) {
    if (!line.startsWith('{"ok":')) continue;
    try {
      return JSON.parse(line) as CaseReport<N>;
    } catch {
      continue;
    }
  }
  return undefined;
}

/** This environment as the CLI's bin scripts would run a command in it. */
function cliEnvironment(): NodeJS.ProcessEnv {
  return shouldRelaunch(process.env) ? withMallocTunables(process.env) : process.env;
}

/**
 * Runs one case in a child process (`node --import tsx bench/suite/case.ts NAME ARGS`) and reads
 * its report. A child still running after `timeoutSeconds` is killed; `timeoutWhy` says whose
 * limit that was.
 */
export function runChild<N extends CaseName>(
  name: N,
  args: CaseArgs<N>,
  timeoutSeconds: number,
  timeoutWhy: string,
): Promise<ChildDone<N> | ChildFailed> {
  const started = performance.now();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', CASE_SCRIPT, name, JSON.stringify(args)],
    // Under the malloc tunables the CLI runs with (src/cli/mallocRelaunch.ts), so the figures
    // are what a user's command gets.
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: cliEnvironment() },
  );
  let stdout = '';
  let stderrTail = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderrTail = (stderrTail + chunk).slice(-16000);
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutSeconds * 1000);
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const seconds = (performance.now() - started) / 1000;
      const report = findReport<N>(stdout);
      if (report?.ok) {
        resolve({ figures: report.figures, peakRssMiB: report.peakRssMiB, seconds });
      } else if (report) {
        const skipped = failureReason(report.error, args.backend, seconds, stderrTail);
        resolve({ skipped, peakRssMiB: report.peakRssMiB, seconds });
      } else if (timedOut) {
        resolve({
          skipped: `stopped after ${timeoutSeconds.toFixed(0)} s (${timeoutWhy})`,
          seconds,
        });
      } else {
        const last = stderrTail.trim().split('\n').pop()?.trim() ?? '';
        const how = signal ? `killed by ${signal}` : `exit code ${code}`;
        resolve({ skipped: `failed: ${how}${last ? ` (${last})` : ''}`, seconds });
      }
    });
  });
}
