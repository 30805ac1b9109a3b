import type { ConvLayersArgs, ConvLayersFigures } from './cases/convLayers';
import type { FinetuneStepArgs } from './cases/finetuneStep';
import type { GeneratorFlopsArgs, GeneratorFlopsFigures } from './cases/generatorFlops';
import type { GeneratorOnnxArgs } from './cases/generatorOnnx';
import type { GeneratorTfjsArgs } from './cases/generatorTfjs';
import type { MetaStepArgs } from './cases/metaStep';
import type { PreprocessCaseArgs, PreprocessFigures } from './cases/preprocess';
import type { StepFigures } from './cases/stepFigures';
import type { Timing } from './results';

/** Each benchmark case a child process runs: what it is given and what it reports. */
export interface CaseTypes {
  generatorFlops: { args: GeneratorFlopsArgs; figures: GeneratorFlopsFigures };
  convLayers: { args: ConvLayersArgs; figures: ConvLayersFigures };
  metaStep: { args: MetaStepArgs; figures: StepFigures };
  finetuneStep: { args: FinetuneStepArgs; figures: StepFigures };
  generatorTfjs: { args: GeneratorTfjsArgs; figures: StepFigures };
  generatorOnnx: { args: GeneratorOnnxArgs; figures: { timing: Timing } };
  preprocess: { args: PreprocessCaseArgs; figures: PreprocessFigures };
}

export type CaseName = keyof CaseTypes;

/** Every case runs on one tfjs backend (the ONNX case builds its weights there). */
export type CaseArgs<N extends CaseName> = CaseTypes[N]['args'] & { backend: string };

/** The one JSON line a case's child process prints on stdout. */
export type CaseReport<N extends CaseName> =
  | { ok: true; figures: CaseTypes[N]['figures']; peakRssMiB: number }
  | { ok: false; error: string; peakRssMiB: number };
