// Library entry point: the pieces other programs need to run models the way the CLI does.
export {
  initBackend,
  BACKEND_CHOICES,
  type BackendChoice,
  type BackendOptions,
  type BackendSelection,
  type ConcreteBackend,
} from './backend/select';
export { type Workload } from './backend/workload';
export { createLogger, type Logger, type LoggerOptions } from './log';
export { referenceOps, setReferenceOps, REFERENCE_OPS_ENV_VAR } from './ops/opsMode';
export { UserError, isUserError } from './errors';
export {
  openMetaCheckpoint,
  defaultMetaCheckpoint,
  SHIPPED_MODEL_DIR,
  type MetaCheckpoint,
} from './train/metaCheckpoint';
export { finetune, type FinetuneOptions, type FinetuneSummary } from './train/finetune';
export { openPersonModel, type PersonModel, type PersonInfo } from './train/personModel';
export { feedForwardGenerator, framesToBytes } from './train/feedForward';
export { animateVideo, type AnimateOptions, type AnimateSummary } from './data/driver/animate';
