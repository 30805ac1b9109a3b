import { UserError } from '../errors';

// Kept free of tfjs, like src/backend/choices.ts, so that option parsing can import it.

/** Set to 1 to run every op of src/ops in its reference version; 0 or unset: the fast ones. */
export const REFERENCE_OPS_ENV_VAR = 'TALKING_HEADS_REFERENCE_OPS';

let reference: boolean | undefined;

/** Whether the ops of src/ops run their plain tfjs reference versions instead of the fast ones. */
export function referenceOps(): boolean {
  return (reference ??= referenceOpsFromEnv(process.env));
}

/**
 * Switches every op of src/ops between its fast version (off, the default) and its reference
 * version (on), for the whole process; this overrides the environment variable.
 */
export function setReferenceOps(on: boolean): void {
  reference = on;
}

/** The environment's choice: 1 on, 0 or empty or unset off. */
export function referenceOpsFromEnv(env: NodeJS.ProcessEnv): boolean {
  const raw = env[REFERENCE_OPS_ENV_VAR]?.trim() ?? '';
  if (raw === '' || raw === '0') return false;
  if (raw === '1') return true;
  throw new UserError(`$${REFERENCE_OPS_ENV_VAR}: expected 1 or 0, got '${raw}'`);
}
