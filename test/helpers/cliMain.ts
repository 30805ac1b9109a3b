/**
 * The CLI from the TypeScript sources, as its own process: for tests that must kill a run
 * (node --import tsx test/helpers/cliMain.ts <args>). With TH_REPORT_MAX_RSS=1 it prints the
 * process's peak resident memory at exit, as a last stderr line `max-rss-kb <n>`.
 */
import { runCli } from '../../src/cli/main';
import { runAsProcess } from '../../src/cli/process';

if (process.env.TH_REPORT_MAX_RSS === '1')
  process.on('exit', () => process.stderr.write(`max-rss-kb ${process.resourceUsage().maxRSS}\n`));
runAsProcess(() => runCli(process.argv.slice(2)));
