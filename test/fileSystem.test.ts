import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from '../src/errors';
import {
  appendDurablySync,
  readBytes,
  renameDurably,
  replaceWithFinishedFile,
  writeFileAtomically,
  writeNewFile,
} from '../src/fileSystem';

let dir: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'file-system-test-'));
});

afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

test('writeFileAtomically replaces the file and leaves no temporary behind', async () => {
  const file = path.join(dir, 'a.txt');
  await writeFileAtomically(file, 'one');
  await writeFileAtomically(file, new TextEncoder().encode('two'));
  expect(fs.readFileSync(file, 'utf8')).toBe('two');
  expect(fs.readdirSync(dir)).toEqual(['a.txt']);
});

test('a failed write is a one-line UserError naming the file, not the temporary', async () => {
  const file = path.join(dir, 'missing', 'a.bin');
  await expect(writeFileAtomically(file, 'x', 'a test file')).rejects.toThrow(
    new UserError(`${file}: cannot write: no such directory ${path.dirname(file)}`),
  );
  await expect(readBytes(file, 'a test file')).rejects.toThrow(
    new UserError(`${file}: no such file`),
  );
});

test('writeNewFile never overwrites', async () => {
  const file = path.join(dir, 'new.txt');
  await writeNewFile(file, 'first');
  await expect(writeNewFile(file, 'second')).rejects.toThrow(UserError);
  expect(fs.readFileSync(file, 'utf8')).toBe('first');
});

test('replaceWithFinishedFile moves a finished file over the real name', async () => {
  const file = path.join(dir, 'video.mp4');
  const temporary = `${file}.tmp`;
  fs.writeFileSync(file, 'old');
  fs.writeFileSync(temporary, 'new');
  await replaceWithFinishedFile(temporary, file, 'a video');
  expect(fs.readFileSync(file, 'utf8')).toBe('new');
  expect(fs.existsSync(temporary)).toBe(false);
  // Failures name the real file, whichever of the two was missing.
  const err = await replaceWithFinishedFile(temporary, file, 'a video').catch((e: Error) => e);
  expect(err).toBeInstanceOf(UserError);
  expect((err as Error).message.startsWith(`${file}: `)).toBe(true);
});

test('renameDurably moves directories and names the target when it fails', async () => {
  const from = path.join(dir, 'partial');
  fs.mkdirSync(from);
  fs.writeFileSync(path.join(from, 'x'), 'x');
  const to = path.join(dir, 'done');
  await renameDurably(from, to);
  expect(fs.readdirSync(to)).toEqual(['x']);
  await expect(renameDurably(from, path.join(dir, 'again'), 'a store')).rejects.toThrow(
    /again: cannot write: /,
  );
});

test('appendDurablySync appends, creating the file', () => {
  const file = path.join(dir, 'units.jsonl');
  appendDurablySync(file, 'a\n');
  appendDurablySync(file, 'b\n');
  expect(fs.readFileSync(file, 'utf8')).toBe('a\nb\n');
  expect(() => appendDurablySync(dir, 'c\n', 'a units file')).toThrow(
    new UserError(`${dir}: is a directory, not a units file`),
  );
});
