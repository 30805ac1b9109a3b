import { runChild } from './childProcess';

/**
 * glibc malloc settings under which freed memory stays in the heap for the next allocation:
 * large blocks come from the heap instead of fresh mmap'd pages, and the heap is not trimmed.
 * The native backend's onnxruntime sessions allocate and free tensor-sized scratch on every
 * run; with glibc's defaults each run page-faults it in anew. These settings keep that memory
 * mapped between runs without raising peak RSS.
 */
export const MALLOC_TUNABLES = [
  'glibc.malloc.mmap_threshold=33554432',
  'glibc.malloc.trim_threshold=17179869184',
  'glibc.malloc.top_pad=268435456',
  // No mmap at all, so blocks above 32 MiB come from the heap too: a paper step's K = 8
  // activations are 134 MB each, and each would otherwise be faulted in anew.
  'glibc.malloc.mmap_max=0',
  // The heap on transparent huge pages where the kernel offers them (madvise mode): one fault
  // per 2 MiB instead of per 4 KiB. Ignored by glibc before 2.35 and where huge pages are off.
  'glibc.malloc.hugetlb=1',
].join(':');

/** Set to 1 to run in this process as started, whatever the C library. */
export const NO_RELAUNCH_ENV = 'TALKING_HEADS_NO_RELAUNCH';

/**
 * Whether the CLI should start itself again with MALLOC_TUNABLES: on glibc only (they are read
 * once, at process start), and not when the user set GLIBC_TUNABLES or opted out.
 */
export function shouldRelaunch(
  env: NodeJS.ProcessEnv,
  glibc: () => string | undefined = glibcVersion,
): boolean {
  // The environment first: the relaunched child has GLIBC_TUNABLES, and skips the report.
  return env.GLIBC_TUNABLES == null && env[NO_RELAUNCH_ENV] !== '1' && glibc() != null;
}

/** `env` with MALLOC_TUNABLES as glibc's tunables. */
export function withMallocTunables(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...env, GLIBC_TUNABLES: MALLOC_TUNABLES };
}

/** The running C library's glibc version, or undefined (musl, macOS, Windows). */
export function glibcVersion(): string | undefined {
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } };
  return report?.header?.glibcVersionRuntime;
}

/** Runs this same command line in a child with MALLOC_TUNABLES; resolves with its exit status. */
export function relaunchWithMallocTunables(): Promise<number> {
  return runChild([...process.execArgv, ...process.argv.slice(1)], withMallocTunables(process.env));
}
