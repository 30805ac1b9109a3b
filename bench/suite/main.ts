/**
 * `npm run bench [-- --quick | --smoke] [--out DIR] [--backends LIST]`: the benchmark suite.
 * Writes <out>/<YYYY-MM-DD>-<hostname>.json and .md, prints progress to stderr and the Markdown
 * to stdout. Prints figures; asserts nothing about them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isUserError, UserError } from '../../src/errors';
import { printable } from '../../src/oneLine';
import { writeFileAtomically } from '../../src/fileSystem';
import { benchBackends } from './backends';
import { describeMachine, resultsStem } from './machine';
import { renderMarkdown } from './markdown';
import { parseSuiteOptions, USAGE } from './options';
import { runSuite } from './runSuite';

/** mkdir -p, one level at a time: Node 20's recursive mkdirSync loops forever under /proc. */
function makeDirectories(dir: string): void {
  const absolute = path.resolve(dir);
  if (fs.existsSync(absolute)) return;
  if (path.dirname(absolute) !== absolute) makeDirectories(path.dirname(absolute));
  fs.mkdirSync(absolute);
}

/** The results directory, made if missing; refused now rather than after an hour of benchmarks. */
function prepareOutDir(dir: string): void {
  try {
    makeDirectories(dir);
    fs.accessSync(dir, fs.constants.W_OK);
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new UserError(`--out ${printable(dir)}: cannot write there (${why})`);
  }
}

async function main(): Promise<void> {
  const options = parseSuiteOptions(process.argv.slice(2));
  if (options === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  prepareOutDir(options.outDir);
  const now = new Date();
  const machine = describeMachine(options.mode, now);
  const backends = await benchBackends(options.backends);
  process.stderr.write(
    `benchmark suite (${options.mode}) on ${backends.benched.join(', ')}; FLOPs counted on ${backends.counting}\n`,
  );
  const results = await runSuite(options.mode, machine, backends, (line) =>
    process.stderr.write(`${line}\n`),
  );
  const markdown = renderMarkdown(results);
  const stem = resultsStem(options.outDir, machine, now);
  await writeFileAtomically(
    `${stem}.json`,
    `${JSON.stringify(results, null, 2)}\n`,
    'a results file',
  );
  await writeFileAtomically(`${stem}.md`, markdown, 'a results file');
  process.stderr.write(`wrote ${stem}.json and ${stem}.md in ${results.seconds.toFixed(0)} s\n`);
  process.stdout.write(markdown);
}

main().catch((err) => {
  if (isUserError(err)) {
    process.stderr.write(`bench: ${err.message}\n`);
    process.exit(2);
  }
  console.error(err);
  process.exit(1);
});
