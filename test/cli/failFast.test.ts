import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCli } from '../../src/cli/main';
import { FaceTracker } from '../../src/data/landmarks/faceTracker';
import { ASTRONAUT, GRACE_HOPPER, writeFaceVideo } from '../helpers/videos';
import { capture, lines, makeUntrainedPerson } from './helpers';

// An internal error half-way through a command's pipeline, with a progress bar redrawing, ffmpeg
// decoding the driver and (in the second pass) encoding the output, must end the process at
// once with exit status 1 and the error printed once. It once printed the error and then hung
// forever on the bar's timer.

const ROOT = path.join(__dirname, '..', '..');
/** Long enough for a loaded CI machine to start tsx and track a few frames; a hang never ends. */
const EXIT_WITHIN_MS = 90_000;
let dir: string;
let person: string;
let driver: string;

/** animate's arguments for the test's person and driver. */
const animateArgs = (out: string) => [
  'animate',
  '--person',
  person,
  '--driver',
  driver,
  '--out',
  out,
];

const cli = (args: string[]) =>
  capture((io) => runCli(['--backend', 'wasm', '--log-level', 'warn', ...args], io));

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'th-failfast-'));
  ({ person } = await makeUntrainedPerson(cli, { dir, photo: ASTRONAUT, seed: 3, name: 'person' }));
  driver = path.join(dir, 'driver.mp4');
  await writeFaceVideo(driver, GRACE_HOPPER, { frames: 40 });
}, 120_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Lets exited children's pipes close (they do on later turns of the event loop). */
const settle = () => new Promise((resolve) => setTimeout(resolve, 500));

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  ms: number;
}

/** Runs `animate` as its own process with a failure injected at `stage:call`. */
function animateFailingAt(failure: string, out: string): Promise<Exit> {
  const started = Date.now();
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--import',
      './test/helpers/failMidPipeline.ts',
      'test/helpers/cliMain.ts',
      '--backend',
      'wasm',
      ...animateArgs(out),
      '--side-by-side',
    ],
    // stderr is a pipe, as in a job log: the bar then prints on a timer instead of redrawing.
    {
      cwd: ROOT,
      env: { ...process.env, FAIL_MID_PIPELINE: failure },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const watchdog = setTimeout(() => child.kill('SIGKILL'), EXIT_WITHIN_MS);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(watchdog);
      resolve({ code, signal, stderr, ms: Date.now() - started });
    });
  });
}

test.each([
  ['tracking the driver (ffmpeg decoding, bar running)', 'tracking:10'],
  ['writing the output (ffmpeg decoding and encoding, bar running)', 'writing:10'],
])(
  'an internal error while %s ends the process with status 1',
  async (_what, failure) => {
    const out = path.join(dir, `${failure.replace(':', '-')}.mp4`);
    const exit = await animateFailingAt(failure, out);
    // Killed by the watchdog means it hung.
    expect(exit.signal).toBeNull();
    expect(exit.code).toBe(1);
    const errors = lines(exit.stderr).filter((l) => l.includes('internal error'));
    expect(errors).toEqual([
      `talking-heads: internal error: injected failure in ${failure.replace(':', ' call ')}`,
    ]);
    // Nothing half-written is left where the video would go.
    expect(fs.readdirSync(dir).filter((f) => f.startsWith(failure.split(':')[0]!))).toEqual([]);
  },
  180_000,
);

test('in process, a command that fails half-way leaves no timer, child process or pipe behind', async () => {
  // What the event loop holds, by kind (a kind may rise while another falls).
  const count = () => {
    const held = process.getActiveResourcesInfo();
    return Object.fromEntries(
      ['Timeout', 'ProcessWrap', 'PipeWrap'].map((k) => [k, held.filter((h) => h === k).length]),
    );
  };
  await settle();
  const before = count();
  let calls = 0;
  const original = FaceTracker.prototype.next;
  const spy = jest.spyOn(FaceTracker.prototype, 'next').mockImplementation(function (
    this: FaceTracker,
    frame,
  ) {
    if (++calls === 10) throw new Error('injected failure');
    return original.call(this, frame);
  });
  try {
    const result = await cli(animateArgs(path.join(dir, 'x.mp4')));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^talking-heads: internal error: injected failure$/m);
  } finally {
    spy.mockRestore();
  }
  await settle();
  const after = count();
  // Children from beforeAll may still be closing at the first count: fewer after is fine.
  const grown = Object.keys(before).filter((kind) => after[kind]! > before[kind]!);
  expect(grown).toEqual([]);
}, 120_000);
