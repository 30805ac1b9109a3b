import { spawnSync } from 'node:child_process';
import { glibcVersion, MALLOC_TUNABLES, shouldRelaunch } from '../../src/cli/mallocRelaunch';

test('relaunches on glibc only, and never over GLIBC_TUNABLES or the opt-out', () => {
  const glibc = () => '2.36';
  const musl = () => undefined;
  expect(shouldRelaunch({}, glibc)).toBe(true);
  expect(shouldRelaunch({}, musl)).toBe(false);
  expect(shouldRelaunch({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }, glibc)).toBe(false);
  expect(shouldRelaunch({ TALKING_HEADS_NO_RELAUNCH: '1' }, glibc)).toBe(false);
});

test("glibcVersion reads the running C library's version where there is one", () => {
  const version = glibcVersion();
  if (process.platform === 'linux' && version != null) expect(version).toMatch(/^\d+\.\d+/);
  else expect(version).toBeUndefined();
});

test('every tunable is one glibc accepts (an unknown one is silently ignored)', () => {
  const version = glibcVersion();
  if (version == null) return;
  // ld.so prints the tunables it knows with their current values (sizes in hex).
  const listed = spawnSync('/lib64/ld-linux-x86-64.so.2', ['--list-tunables'], {
    encoding: 'utf8',
    env: { GLIBC_TUNABLES: MALLOC_TUNABLES },
  });
  if (listed.status !== 0) return; // another architecture's loader path
  for (const setting of MALLOC_TUNABLES.split(':')) {
    const [name, value] = setting.split('=');
    const line = listed.stdout.split('\n').find((l) => l.startsWith(`${name}: `));
    // glibc.malloc.hugetlb came in glibc 2.35; older ones ignore it.
    const [major, minor] = version.split('.').map(Number) as [number, number];
    if (name === 'glibc.malloc.hugetlb' && (major < 2 || (major === 2 && minor < 35))) continue;
    expect(line).toBeDefined();
    expect(Number(line!.split(/[: ]+/)[1])).toBe(Number(value));
  }
});
