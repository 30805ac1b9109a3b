// Library entry point: the pieces other programs need to run models the way the CLI does.
export {
  initBackend,
  BACKEND_CHOICES,
  type BackendChoice,
  type BackendOptions,
  type BackendSelection,
  type ConcreteBackend,
} from './backend/select';
export { createLogger, type Logger, type LoggerOptions } from './log';
export { UserError, isUserError } from './errors';
