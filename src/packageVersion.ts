import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** This package's version. From src (tests) and dist (installed) alike, package.json is one level up. */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8'));
  return String(pkg.version);
}
