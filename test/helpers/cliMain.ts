/**
 * The CLI from the TypeScript sources, as its own process: for tests that must kill a run
 * (node --import tsx test/helpers/cliMain.ts <args>). With TH_REPORT_MAX_RSS=1 it prints the
 * process's peak resident memory at exit, as a last stderr line `max-rss-kb <n>`.
 */
import { readFileSync } from 'node:fs';
import { runCli } from '../../src/cli/main';
import { runAsProcess } from '../../src/cli/process';

/**
 * This process's own peak RSS in KiB. getrusage's maxRSS is preserved across execve, so a child
 * of a big jest worker would report the worker's peak; Linux's VmHWM belongs to this process's
 * address space alone. Elsewhere, maxRSS is the best there is.
 */
function peakRssKb(): number {
  try {
    const match = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (match) return Number(match[1]);
  } catch {
    // no /proc: not Linux
  }
  return process.resourceUsage().maxRSS;
}

if (process.env.TH_REPORT_MAX_RSS === '1')
  process.on('exit', () => process.stderr.write(`max-rss-kb ${peakRssKb()}\n`));
runAsProcess(() => runCli(process.argv.slice(2)));
