import { autoPicks, cpuBackendOrder, NATIVE_GENERATION_FROM_PX } from '../../src/backend/workload';

describe('cpuBackendOrder', () => {
  test('training, and no workload, put native first', () => {
    expect(cpuBackendOrder().order).toEqual(['native', 'wasm']);
    expect(cpuBackendOrder({ kind: 'training' }).order).toEqual(['native', 'wasm']);
  });

  test('face detection puts wasm first', () => {
    expect(cpuBackendOrder({ kind: 'faces' }).order).toEqual(['wasm', 'native']);
  });

  test('generation switches to native at NATIVE_GENERATION_FROM_PX, and says why', () => {
    const below = cpuBackendOrder({ kind: 'generation', imageSize: NATIVE_GENERATION_FROM_PX / 2 });
    const at = cpuBackendOrder({ kind: 'generation', imageSize: NATIVE_GENERATION_FROM_PX });
    expect(below.order).toEqual(['wasm', 'native']);
    expect(below.reason).toContain(`below ${NATIVE_GENERATION_FROM_PX}`);
    expect(at.order).toEqual(['native', 'wasm']);
    expect(at.reason).toContain(`${NATIVE_GENERATION_FROM_PX} px`);
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
    expect(p['generation-64']![0]).toBe('wasm');
    expect(p['generation-256']![0]).toBe('native');
  });

  test('one of them missing: the other, saying so; tfjs-node takes everything', () => {
    expect(picks(['wasm']).training).toEqual(['wasm', 'native is not available']);
    expect(picks(['native']).faces).toEqual(['native', 'wasm is not available']);
    expect(picks(['tensorflow', 'native', 'wasm']).faces![0]).toBe('tensorflow');
    expect(picks(['cpu']).training![0]).toBeNull();
  });
});
