import { UserError } from '../../errors';
import { DEFAULT_POOL_BYTES } from './bufferPool';
import { DEFAULT_SESSION_CAPACITY, DEFAULT_SESSION_CAPACITY_BYTES } from './opSessions';

/** The most free arrays the recycling pool keeps, in MiB. */
export const POOL_MIB_ENV_VAR = 'TALKING_HEADS_NATIVE_POOL_MIB';
/** The most onnxruntime sessions kept. */
export const SESSIONS_ENV_VAR = 'TALKING_HEADS_NATIVE_SESSIONS';
/** The most graph bytes (baked filters, nearly all) the kept sessions hold, in MiB. */
export const SESSION_MIB_ENV_VAR = 'TALKING_HEADS_NATIVE_SESSION_MIB';

/** What the native backend keeps between kernel calls, at most. */
export interface NativeMemoryLimits {
  poolBytes: number;
  sessions: number;
  sessionBytes: number;
}

export const DEFAULT_MEMORY_LIMITS: NativeMemoryLimits = {
  poolBytes: DEFAULT_POOL_BYTES,
  sessions: DEFAULT_SESSION_CAPACITY,
  sessionBytes: DEFAULT_SESSION_CAPACITY_BYTES,
};

/** The limits the environment sets (empty counts as unset), else the defaults. */
export function memoryLimitsFromEnv(env: NodeJS.ProcessEnv): NativeMemoryLimits {
  const read = (name: string, least: number): number | undefined => {
    const raw = env[name]?.trim();
    if (!raw) return undefined;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < least)
      throw new UserError(`$${name}: expected a whole number >= ${least}, got '${raw}'`);
    return value;
  };
  const poolMiB = read(POOL_MIB_ENV_VAR, 0);
  const sessionMiB = read(SESSION_MIB_ENV_VAR, 0);
  return {
    poolBytes: poolMiB === undefined ? DEFAULT_MEMORY_LIMITS.poolBytes : poolMiB * 2 ** 20,
    sessions: read(SESSIONS_ENV_VAR, 1) ?? DEFAULT_MEMORY_LIMITS.sessions,
    sessionBytes:
      sessionMiB === undefined ? DEFAULT_MEMORY_LIMITS.sessionBytes : sessionMiB * 2 ** 20,
  };
}
