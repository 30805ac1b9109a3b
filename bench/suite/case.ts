/**
 * One benchmark case in its own process, so that its peak RSS is its own and a case that exhausts
 * memory (the wasm heap aborts for good) takes only itself down:
 *   node --import tsx bench/suite/case.ts <name> '<json args>'
 * prints one JSON line on stdout (CaseReport) and exits 0, also when the case failed; its
 * logs go to stderr.
 */
import { initBackend } from '../../src/backend/select';
import type { CaseArgs, CaseName, CaseReport, CaseTypes } from './caseTypes';

type Runner<N extends CaseName> = (args: CaseArgs<N>) => Promise<CaseTypes[N]['figures']>;

// Imported when run: a case loads only what it needs (face-api, onnxruntime).
const RUNNERS: { [N in CaseName]: Runner<N> } = {
  generatorFlops: async (a) => (await import('./cases/generatorFlops')).runGeneratorFlops(a),
  convLayers: async (a) => (await import('./cases/convLayers')).runConvLayers(a),
  metaStep: async (a) => (await import('./cases/metaStep')).runMetaStep(a),
  finetuneStep: async (a) => (await import('./cases/finetuneStep')).runFinetuneStep(a),
  generatorTfjs: async (a) => (await import('./cases/generatorTfjs')).runGeneratorTfjs(a),
  generatorOnnx: async (a) => (await import('./cases/generatorOnnx')).runGeneratorOnnx(a),
  preprocess: async (a) => (await import('./cases/preprocess')).runPreprocessCase(a),
};

function peakRssMiB(): number {
  return process.resourceUsage().maxRSS / 1024; // KiB
}

function oneLine(err: unknown): string {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return text.split('\n')[0]!.trim();
}

async function main(): Promise<void> {
  const [name, json] = process.argv.slice(2);
  if (name == null || !(name in RUNNERS) || json == null) {
    process.stderr.write(`usage: case.ts <${Object.keys(RUNNERS).join('|')}> '<json args>'\n`);
    process.exit(2);
  }
  let report: CaseReport<CaseName>;
  try {
    const args = JSON.parse(json) as CaseArgs<CaseName>;
    await initBackend({ backend: args.backend });
    const figures = await (RUNNERS[name as CaseName] as Runner<CaseName>)(args);
    report = { ok: true, figures, peakRssMiB: peakRssMiB() };
  } catch (err) {
    report = { ok: false, error: oneLine(err), peakRssMiB: peakRssMiB() };
  }
  // Exit once the line is out: a worker thread or a native runtime may keep the process alive.
  process.stdout.write(`${JSON.stringify(report)}\n`, () => process.exit(0));
}

void main();
