import { probeBackends } from '../../src/cli/commands/backends';
import { UserError } from '../../src/errors';
import { silentLogger } from '../../src/log';
import type { BackendStatus } from './results';

export interface BenchBackends {
  /** Every backend with whether it is benchmarked and, if not, why. */
  statuses: BackendStatus[];
  /** The backends to benchmark, fastest first (the order initBackend's 'auto' tries them). */
  benched: string[];
  /** The fastest available backend, benchmarked or not: it counts the generator's FLOPs. */
  counting: string;
}

/**
 * Probes the backends with initBackend itself (as `talking-heads backends` does). A backend asked
 * for that cannot run here is a UserError. tensorflow-gpu and tensorflow are one tfjs backend
 * ('tensorflow'): only the first that loads is benchmarked.
 */
export async function benchBackends(requested?: readonly string[]): Promise<BenchBackends> {
  const report = await probeBackends('auto', { wasmThreads: 0, threads: 0 }, silentLogger());
  const statuses: BackendStatus[] = [];
  const benched: string[] = [];
  let tensorflow: string | undefined;
  for (const b of report.backends) {
    const wanted = requested == null || requested.includes(b.name);
    if (!b.available) {
      if (requested?.includes(b.name))
        throw new UserError(`--backends: ${b.why ?? `backend '${b.name}' is not available`}`);
      statuses.push({ name: b.name, available: false, why: b.why });
    } else if (!wanted) {
      statuses.push({ name: b.name, available: true, why: 'not in --backends' });
    } else if (b.name.startsWith('tensorflow') && tensorflow != null) {
      statuses.push({
        name: b.name,
        available: true,
        why: `the same tfjs backend as ${tensorflow}`,
      });
    } else {
      if (b.name.startsWith('tensorflow')) tensorflow = b.name;
      statuses.push({ name: b.name, available: true });
      benched.push(b.name);
    }
  }
  const counting = report.backends.find((b) => b.available)?.name;
  if (counting == null) throw new UserError('no tfjs backend can run here');
  return { statuses, benched, counting };
}
