import {
  autoPicks,
  cpuBackendOrder,
  generationSuitsNative,
  NATIVE_GENERATION_FROM,
} from '../../src/backend/workload';

describe('cpuBackendOrder', () => {
  test('training, and no workload, put native first', () => {
    expect(cpuBackendOrder().order).toEqual(['native', 'wasm']);
    expect(cpuBackendOrder({ kind: 'training' }).order).toEqual(['native', 'wasm']);
  });

  test('face detection puts wasm first', () => {
    expect(cpuBackendOrder({ kind: 'faces' }).order).toEqual(['wasm', 'native']);
  });

  test('generation goes native where size x width reaches NATIVE_GENERATION_FROM, and says why', () => {
    // The layouts measured: 64 x 8, 128 x 8 and 64 x 16 faster on wasm; 64 x 32, 128 x 32 and
    // 256 x 64 on native.
    const order = (imageSize: number, baseWidth: number) =>
      cpuBackendOrder({ kind: 'generation', imageSize, baseWidth }).order[0];
    expect([order(64, 8), order(128, 8), order(64, 16)]).toEqual(['wasm', 'wasm', 'wasm']);
    expect([order(64, 32), order(128, 32), order(256, 64)]).toEqual(['native', 'native', 'native']);
    expect(generationSuitsNative(NATIVE_GENERATION_FROM / 32, 32)).toBe(true);
    expect(generationSuitsNative(NATIVE_GENERATION_FROM / 32 - 1, 32)).toBe(false);
    expect(cpuBackendOrder({ kind: 'generation', imageSize: 64, baseWidth: 8 }).reason).toContain(
      `below ${NATIVE_GENERATION_FROM}`,
    );
  });
});

describe('autoPicks', () => {
  const picks = (available: string[]) =>
    Object.fromEntries(
      autoPicks(new Set(available as never)).map((p) => [p.workload, [p.backend, p.reason]]),
    );

  test('native and wasm: each workload gets the faster, with the reason', () => {
    const p = picks(['native', 'wasm', 'cpu']);
    expect(p.training![0]).toBe('native');
    expect(p.faces).toEqual(['wasm', cpuBackendOrder({ kind: 'faces' }).reason]);
    expect(p['generation, 64 px x 8']![0]).toBe('wasm');
    expect(p['generation, 64 px x 32']![0]).toBe('native');
    expect(p['generation, 256 px x 64']![0]).toBe('native');
  });

  test('one of them missing: the other, saying so; tfjs-node takes everything', () => {
    expect(picks(['wasm']).training).toEqual(['wasm', 'native is not available']);
    expect(picks(['native']).faces).toEqual(['native', 'wasm is not available']);
    expect(picks(['tensorflow', 'native', 'wasm']).faces![0]).toBe('tensorflow');
    expect(picks(['cpu']).training![0]).toBeNull();
  });
});
