/**
 * @jest-environment ./test/helpers/hostTypedArraysEnvironment.js
 */
import { initBackend } from '../../src/backend/select';
import { presetConfig } from '../../src/models/config';
import { compareExports } from '../helpers/onnxEquivalence';

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});

// The paper's networks at 256 px with random weights: about a minute, most of it tfjs's
// reference passes (10 s per generated frame on wasm).
test('paper preset: onnxruntime matches tfjs to 1e-4 for the person generator, the two-input generator and the embedder, batch 1 and 3', async () => {
  const result = await compareExports(presetConfig('paper'), { seed: 60, batches: [1, 3] });
  expect(result.structure).toEqual([]);
  for (const part of ['personGenerator', 'generator', 'embedder', 'meanEmbedding'] as const) {
    expect(result[part].map((a) => a.batch)).toEqual([1, 3]);
    for (const a of result[part]) {
      expect(a.maxAbsDiff).toBeLessThan(1e-4);
      expect(a.scale).toBeGreaterThan(0.05);
    }
  }
}, 400_000);
