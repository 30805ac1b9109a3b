import { spawn } from 'node:child_process';
import { UserError } from '../../errors';
import { printable } from '../../oneLine';

/** The last non-empty line of a tool's stderr: ffmpeg puts the reason for a failure there. */
export function lastLine(text: string): string {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return printable(lines[lines.length - 1] ?? 'no message');
}

/** Runs a tool to completion, collecting its output; a non-zero exit is a UserError about `file`. */
export function runTool(
  binary: string,
  args: string[],
  file: string,
): Promise<{ stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', (e) =>
      reject(new UserError(`${printable(file)}: cannot run ${binary}: ${e.message}`)),
    );
    child.on('close', (code) => {
      if (code === 0) resolve({ stdout: Buffer.concat(out), stderr: err });
      else reject(new UserError(`${printable(file)}: ${lastLine(err)}`));
    });
  });
}
