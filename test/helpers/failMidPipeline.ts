/**
 * Imported into a CLI process before test/helpers/cliMain.ts (node --import tsx --import
 * ./test/helpers/failMidPipeline.ts ...): makes the animate pipeline throw a plain Error (an
 * internal error, not a UserError) half-way through, as a kernel bug does, so that a test can
 * check the process still ends.
 *   FAIL_MID_PIPELINE=tracking:N  tracking the driver's N-th frame throws
 *   FAIL_MID_PIPELINE=writing:N   encoding the N-th output frame throws
 */
import { FaceTracker } from '../../src/data/landmarks/faceTracker';
import { VideoWriter } from '../../src/data/video/encode';

const TARGETS = {
  tracking: [FaceTracker.prototype, 'next'],
  writing: [VideoWriter.prototype, 'write'],
} as const;

const [stage, count] = (process.env.FAIL_MID_PIPELINE ?? '').split(':');
const target = TARGETS[stage as keyof typeof TARGETS];
if (!target) throw new Error(`FAIL_MID_PIPELINE=${process.env.FAIL_MID_PIPELINE}: no such stage`);
const [prototype, method] = target as unknown as [
  Record<string, (...a: unknown[]) => unknown>,
  string,
];
const original = prototype[method]!;
let calls = 0;
prototype[method] = function (this: unknown, ...args: unknown[]) {
  if (++calls === Number(count)) throw new Error(`injected failure in ${stage} call ${calls}`);
  return original.apply(this, args);
};
