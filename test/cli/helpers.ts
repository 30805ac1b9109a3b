import * as path from 'node:path';
import { Writable } from 'node:stream';
import type { CliIO } from '../../src/cli/context';
import { makeUntrainedMetaCheckpoint } from '../helpers/metaCheckpoint';

export interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

/** An io pair that records what the CLI writes, so runCli can be tested in-process. */
export function captureIO(): { io: CliIO; text: { stdout: string; stderr: string } } {
  const text = { stdout: '', stderr: '' };
  const sink = (key: keyof typeof text) =>
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        text[key] += chunk.toString();
        callback();
      },
    });
  return { io: { stdout: sink('stdout'), stderr: sink('stderr') }, text };
}

export async function capture(run: (io: CliIO) => Promise<number>): Promise<Captured> {
  const { io, text } = captureIO();
  const code = await run(io);
  return { code, ...text };
}

/** The lines of `text` without the final newline's empty remainder. */
export function lines(text: string): string[] {
  return text.split('\n').filter((line, i, all) => i < all.length - 1 || line !== '');
}

/** A stack frame line ("    at f (file.ts:1:2)"), which user-facing errors must never show. */
export const STACK_FRAME = /^\s+at /m;

/** A user error as the CLI reports it: exit 2, the message as the last stderr line (after any
 * warnings) prefixed with the program's name, and no stack anywhere. */
export function expectUserError(result: Captured, pattern: RegExp): void {
  expect(result.code).toBe(2);
  const last = lines(result.stderr).pop()!;
  expect(last).toMatch(/^talking-heads: /);
  expect(last).toMatch(pattern);
  expect(result.stderr).not.toMatch(STACK_FRAME);
}

/** A person model from one photo, feed-forward (no fine-tuning steps): seconds, for CLI tests. */
export async function makeFeedForwardPerson(
  cli: (args: string[]) => Promise<Captured>,
  options: { meta: string; out: string; photo: string },
): Promise<string> {
  const { meta, out, photo } = options;
  const made = await cli([
    'finetune',
    '--feed-forward',
    '--shots',
    '1',
    '--checkpoint',
    meta,
    '--out',
    out,
    photo,
  ]);
  expect(made.code).toBe(0);
  return out;
}

/**
 * An untrained 64 px meta checkpoint in `dir`/meta and the feed-forward person model of `photo`
 * made from it in `dir`/`name`: for tests of the pipeline around the weights, not of the weights.
 */
export async function makeUntrainedPerson(
  cli: (args: string[]) => Promise<Captured>,
  options: { dir: string; photo: string; seed: number; name: string },
): Promise<{ meta: string; person: string }> {
  const { dir, photo, seed, name } = options;
  const meta = await makeUntrainedMetaCheckpoint(path.join(dir, 'meta'), { imageSize: 64, seed });
  const person = await makeFeedForwardPerson(cli, { meta, out: path.join(dir, name), photo });
  return { meta, person };
}
