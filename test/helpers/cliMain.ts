/**
 * The CLI from the TypeScript sources, as its own process: for tests that must kill a run
 * (node --import tsx test/helpers/cliMain.ts <args>).
 */
import { runCli } from '../../src/cli/main';
import { runAsProcess } from '../../src/cli/process';

runAsProcess(() => runCli(process.argv.slice(2)));
