import { UserError } from '../../src/errors';
import { parseManifest } from '../../src/train/checkpointManifest';

const FILE = 'run/checkpoints/step-000000007/manifest.json';
const good = {
  format: 1,
  step: 7,
  createdAt: '2024-01-01T00:00:00.000Z',
  config: 'model:\n  preset: tiny\n',
  files: { 'model.safetensors': { bytes: 10, sha256: 'ab' } },
};

function problem(value: unknown): string {
  try {
    parseManifest(value, FILE);
  } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    return (err as Error).message;
  }
  throw new Error('parseManifest accepted it');
}

test('a good manifest: rng and data null when absent, unknown fields dropped', () => {
  expect(parseManifest({ ...good, later: true }, FILE)).toEqual({ ...good, rng: null, data: null });
  const full = { ...good, rng: { seed: 1 }, data: { size: 64 } };
  expect(parseManifest(full, FILE)).toEqual(full);
});

test('each problem is one line naming the file, as before the schema', () => {
  const cases: [unknown, string][] = [
    [[], 'not a checkpoint manifest'],
    [null, 'not a checkpoint manifest'],
    [{}, 'checkpoint format missing, this version reads format 1'],
    [{ ...good, format: 2 }, 'checkpoint format 2, this version reads format 1'],
    [{ ...good, format: '1' }, 'checkpoint format "1", this version reads format 1'],
    [{ ...good, step: -1 }, "'step' is not a non-negative integer"],
    [{ ...good, step: 1.5 }, "'step' is not a non-negative integer"],
    [{ ...good, step: 2 ** 53 }, "'step' is not a non-negative integer"],
    [{ ...good, step: '7' }, "'step' is not a non-negative integer"],
    [{ ...good, createdAt: 5 }, "'createdAt' is not a string"],
    [{ ...good, config: undefined }, "'config' is not a string"],
    [{ ...good, files: [] }, "'files' is not an object"],
    [
      { ...good, files: { 'model.safetensors': 5 } },
      "'files.model.safetensors' is not {bytes, sha256}",
    ],
    [{ ...good, files: { m: { bytes: '1', sha256: 'a' } } }, "'files.m' is not {bytes, sha256}"],
    [{ ...good, files: { m: { bytes: 1 } } }, "'files.m' is not {bytes, sha256}"],
    // The first problem, in the manifest's field order, whatever order the file has them in.
    [{ ...good, createdAt: 5, step: -1 }, "'step' is not a non-negative integer"],
    // A name with a newline stays on one line.
    [{ ...good, files: { 'a\nb': 1 } }, "'files.a\\u000ab' is not {bytes, sha256}"],
  ];
  for (const [value, why] of cases) expect(problem(value)).toBe(`${FILE}: ${why}`);
});
