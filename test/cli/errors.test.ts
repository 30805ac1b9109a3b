import { UserError } from '../../src/errors';
import { runCli } from '../../src/cli/main';
import { capture, lines, STACK_FRAME } from './helpers';

// The backends command is the only one that calls initBackend; make it throw what each case needs.
const mockInitBackend = jest.fn();
jest.mock('../../src/backend/select', () => ({
  ...jest.requireActual('../../src/backend/select'),
  initBackend: (...args: unknown[]) => mockInitBackend(...args),
}));

const cli = (...argv: string[]) => capture((io) => runCli(argv, io));

describe('runCli error reporting', () => {
  afterEach(() => mockInitBackend.mockReset());

  it('an unexpected error is an internal error, status 1, without a stack by default', async () => {
    mockInitBackend.mockRejectedValue(new Error('boom'));
    const result = await cli('backends');
    expect(result.code).toBe(1);
    expect(lines(result.stderr)).toEqual(['talking-heads: internal error: boom']);
  });

  it('--log-level debug adds the stack of an internal error', async () => {
    mockInitBackend.mockRejectedValue(new Error('boom'));
    const result = await cli('backends', '--log-level', 'debug');
    expect(result.code).toBe(1);
    expect(lines(result.stderr)[0]).toBe('talking-heads: internal error: boom');
    expect(result.stderr).toMatch(STACK_FRAME);
  });

  it('backends reports a UserError from a probe as unavailable, not as a failure', async () => {
    mockInitBackend.mockRejectedValue(new UserError('no such thing'));
    const result = await cli('backends', '--json');
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.auto).toBeNull();
    expect(report.backends.every((b: { why: string }) => b.why === 'no such thing')).toBe(true);
  });
});
