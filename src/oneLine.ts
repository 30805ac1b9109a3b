import * as path from 'node:path';
import { UserError } from './errors';

/** The text with control characters escaped, so an error message stays on one line. */
export function printable(text: string): string {
  let out = '';
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    out += code < 0x20 || code === 0x7f ? `\\u${code.toString(16).padStart(4, '0')}` : ch;
  }
  return out;
}

/** 'name', quoted and printable. */
export function quote(name: string): string {
  return `'${printable(name)}'`;
}

/** Sets an own property even for names like "__proto__", which plain assignment would not. */
export function setOwn<T>(target: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(target, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

/**
 * A failed read or write of `file` as a one-line UserError naming it; `kind` says what the file
 * should have been ('a .safetensors file', 'a weights file').
 */
export function fileError(
  file: string,
  err: unknown,
  action: 'read' | 'write',
  kind = 'a file',
): UserError {
  const where = printable(file);
  switch ((err as NodeJS.ErrnoException).code) {
    case 'ENOENT':
      return new UserError(
        action === 'read'
          ? `${where}: no such file`
          : `${where}: cannot write: no such directory ${printable(path.dirname(file))}`,
      );
    case 'EISDIR':
      return new UserError(`${where}: is a directory, not ${kind}`);
    case 'ENOTDIR':
      return new UserError(`${where}: a parent of the path is not a directory`);
    case 'EACCES':
    case 'EPERM':
      return new UserError(`${where}: cannot ${action}: permission denied`);
    case 'ENOSPC':
      return new UserError(`${where}: cannot write: no space left on the device`);
    default:
      return new UserError(
        `${where}: cannot ${action}: ${printable(err instanceof Error ? err.message : String(err))}`,
      );
  }
}
