import { UserError } from '../errors';

// Kept free of tfjs so that `--help` and option parsing don't pay tfjs's load time.

export const BACKEND_CHOICES = [
  'auto',
  'tensorflow-gpu',
  'tensorflow',
  'native',
  'wasm',
  'cpu',
] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];
export type ConcreteBackend = Exclude<BackendChoice, 'auto'>;

export const BACKEND_ENV_VAR = 'TALKING_HEADS_BACKEND';

/** How each backend is installed, for the one-line error when it is missing. */
export const INSTALL_HINTS: Record<ConcreteBackend, string> = {
  'tensorflow-gpu':
    'install it with `npm install @tensorflow/tfjs-node-gpu` on a machine with internet access, CUDA 11.2 and cuDNN 8.1',
  tensorflow:
    'install it with `npm install @tensorflow/tfjs-node` on a machine with internet access',
  native:
    'reinstall dependencies with `npm ci` (onnxruntime-node, whose CPU binaries ship in the package, is a regular dependency)',
  wasm: 'reinstall dependencies with `npm ci` (@tensorflow/tfjs-backend-wasm is a regular dependency)',
  cpu: 'the cpu backend ships with @tensorflow/tfjs; reinstall dependencies with `npm ci`',
};

/** The user's choice: the option, else the environment (empty counts as unset), else 'auto'. */
export function resolveBackendChoice(
  requested: string | undefined,
  env: NodeJS.ProcessEnv,
): BackendChoice {
  const fromEnv = env[BACKEND_ENV_VAR]?.trim() || undefined;
  const raw = requested ?? fromEnv ?? 'auto';
  const choice = raw.trim().toLowerCase();
  if (!(BACKEND_CHOICES as readonly string[]).includes(choice)) {
    const source = requested !== undefined ? '--backend' : `$${BACKEND_ENV_VAR}`;
    throw new UserError(
      `${source}: unknown backend '${raw}'; choose one of ${BACKEND_CHOICES.join(', ')}`,
    );
  }
  return choice as BackendChoice;
}
