import { failureReason } from '../../bench/suite/runChild';

test('an exhausted wasm heap reads as "does not fit", from the error or from stderr', () => {
  expect(failureReason('RuntimeError: Aborted(). Build with -sASSERTIONS', 'wasm', 86.4, '')).toBe(
    'does not fit: the wasm heap (4 GiB) ran out after 86 s (RuntimeError: Aborted(). Build with -sASSERTIONS)',
  );
  // What a paper-size meta-learning step printed: XNNPACK out of memory, then a follow-on error.
  const stderr =
    'XNN status for xnn_create_convolution2d_nhwc_f32 is not successful. Got status 6. Use -c dbg to see XNN logs.\n' +
    'XNN status for xnn_setup_convolution2d_nhwc_f32 is not successful. Got status 2. Use -c dbg to see XNN logs.\n';
  const error = "TypeError: Cannot read properties of undefined (reading 'map')";
  expect(failureReason(error, 'wasm', 134, stderr)).toBe(
    'does not fit: the wasm heap (4 GiB) ran out after 134 s (XNN status for xnn_create_convolution2d_nhwc_f32 ' +
      "is not successful. Got status 6. Use -c dbg to see XNN logs.; then TypeError: Cannot read properties of undefined (reading 'map'))",
  );
  // The same error elsewhere is a plain failure.
  expect(failureReason(error, 'cpu', 1, stderr)).toBe(`failed: ${error}`);
  expect(failureReason(error, 'wasm', 1, 'XNN ... Got status 2')).toBe(`failed: ${error}`);
});
