import * as fs from 'node:fs';
import * as path from 'node:path';
import YAML, { YAMLParseError } from 'yaml';
import { UserError } from '../errors';
import { fileError, printable, quote, setOwn } from '../oneLine';
import { parseTrainConfig, type TrainConfig } from './config';

/**
 * The package's configs/ folder. This file sits two levels below the package root both as
 * src/train/loadConfig.ts and as dist/train/loadConfig.js, and configs/ ships in "files".
 */
export const CONFIGS_DIR = path.join(__dirname, '..', '..', 'configs');

const CONFIG_EXTENSIONS = ['.yaml', '.yml'];

/** The bundled config names (file names without the extension), sorted. */
export function availableConfigs(configsDir = CONFIGS_DIR): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(configsDir);
  } catch {
    return [];
  }
  return names
    .filter((name) => CONFIG_EXTENSIONS.includes(path.extname(name)))
    .map((name) => path.basename(name, path.extname(name)))
    .sort();
}

function isFile(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * The config file meant by `nameOrPath`: the path itself when it exists, else, for a bare name
 * such as `voxceleb2` or `voxceleb2.yaml`, that file in `configsDir`.
 */
export function resolveConfigPath(nameOrPath: string, configsDir = CONFIGS_DIR): string {
  if (isFile(nameOrPath)) return nameOrPath;
  const bare = !nameOrPath.includes('/') && !nameOrPath.includes(path.sep) && nameOrPath !== '';
  if (bare) {
    const names = CONFIG_EXTENSIONS.includes(path.extname(nameOrPath))
      ? [nameOrPath]
      : [nameOrPath, ...CONFIG_EXTENSIONS.map((ext) => nameOrPath + ext)];
    const found = names.map((name) => path.join(configsDir, name)).find(isFile);
    if (found) return found;
  }
  // A folder (or unreadable entry) given by path: reading it names the problem.
  if (fs.existsSync(nameOrPath)) return nameOrPath;
  const available = availableConfigs(configsDir);
  throw new UserError(
    `${printable(nameOrPath)}: no such config; ` +
      (available.length > 0
        ? `the bundled ones are ${available.join(', ')} (in ${printable(configsDir)})`
        : `no bundled configs in ${printable(configsDir)}`),
  );
}

/** YAML text as a value; a syntax error is one line naming the file, line and column. */
function parseYaml(text: string, source: string): unknown {
  try {
    return YAML.parse(text);
  } catch (err) {
    if (!(err instanceof YAMLParseError)) throw err;
    // The message's first line, less its " at line L, column C:" (the source excerpt follows it).
    const reason = err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    const at = err.linePos?.[0];
    const where = at ? ` at line ${at.line}, column ${at.col}` : '';
    throw new UserError(`${printable(source)}: YAML syntax error${where}: ${printable(reason)}`);
  }
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * `value` (a parsed config) with each `key.path=value` override set; the value is YAML, so `4`
 * is a number, `true` a boolean, `[1, 2]` a list and `null` (or nothing) null. Missing mappings
 * on the way are created, so a mistyped key reaches validation and fails there by name.
 */
export function applyOverrides(value: unknown, overrides: readonly string[]): unknown {
  if (overrides.length === 0) return value;
  const root = structuredClone(value ?? {});
  if (!isMapping(root))
    throw new UserError(`cannot apply overrides: the config is not a mapping of sections`);
  for (const override of overrides) {
    const fail = (why: string): never => {
      throw new UserError(`override ${quote(override)}: ${why}`);
    };
    const eq = override.indexOf('=');
    if (eq < 0) fail('expected key.path=value, e.g. train.batchSize=4');
    const keys = override.slice(0, eq).trim().split('.');
    if (keys.some((key) => key === '')) fail('the key path has an empty part');
    let parsed: unknown;
    try {
      parsed = YAML.parse(override.slice(eq + 1));
    } catch (err) {
      fail(`the value is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
    }
    let node = root;
    for (const [i, key] of keys.slice(0, -1).entries()) {
      const next = Object.hasOwn(node, key) ? node[key] : undefined;
      if (next === undefined || next === null) {
        const created: Record<string, unknown> = {};
        setOwn(node, key, created);
        node = created;
      } else if (isMapping(next)) {
        node = next;
      } else {
        fail(`${keys.slice(0, i + 1).join('.')} is not a mapping`);
      }
    }
    setOwn(node, keys[keys.length - 1]!, parsed);
  }
  return root;
}

/**
 * The training config `nameOrPath` names (a path, or a bundled config's name), with `overrides`
 * applied before validation and every default filled in.
 */
export function loadTrainConfig(
  nameOrPath: string,
  overrides: readonly string[] = [],
  configsDir = CONFIGS_DIR,
): TrainConfig {
  const file = resolveConfigPath(nameOrPath, configsDir);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw fileError(file, err, 'read', 'a YAML config');
  }
  return parseTrainConfig(applyOverrides(parseYaml(text, file), overrides), file);
}

/** The resolved config as YAML, for a run directory: loading it again gives the same config. */
export function resolvedConfigYaml(config: TrainConfig): string {
  return (
    '# The resolved training config: every default and override filled in.\n' +
    YAML.stringify(config, { lineWidth: 0 })
  );
}
