import type { CliCommand } from '../command';
import { animateCommand } from './animate';
import { backendsCommand } from './backends';
import { corpusCommand } from './corpus';
import { curvesCommand } from './curves';
import { demoCommand } from './demo';
import { evaluateCommand } from './evaluate';
import { exportOnnxCommand } from './exportOnnx';
import { finetuneCommand } from './finetune';
import { modelsCommand } from './models';
import { onnxCheckCommand } from './onnxCheck';
import { preprocessCommand } from './preprocess';
import { releaseCommand } from './release';
import { storeCommand } from './store';
import { synthCommand } from './synth';
import { trainMetaCommand } from './trainMeta';
import { weightsCommand } from './weights';

/** Every subcommand, in the order `--help` lists them. A new command is one file plus one line here. */
export const COMMANDS: readonly CliCommand[] = [
  backendsCommand,
  modelsCommand,
  weightsCommand,
  preprocessCommand,
  synthCommand,
  corpusCommand,
  storeCommand,
  trainMetaCommand,
  curvesCommand,
  releaseCommand,
  finetuneCommand,
  animateCommand,
  exportOnnxCommand,
  onnxCheckCommand,
  evaluateCommand,
  demoCommand,
];
