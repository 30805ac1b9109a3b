import * as tf from '@tensorflow/tfjs';
import { initBackend, resolveBackendChoice, BACKEND_ENV_VAR } from '../../src/backend/select';
import { WASM_TRAINING_KERNELS } from '../../src/backend/wasm/registerTrainingKernels';
import { CPU_FAST_KERNELS } from '../../src/backend/cpu/registerFastKernels';
import { UserError } from '../../src/errors';

/** Stands in for tfjs-node(-gpu): registers a 'tensorflow' backend with a fake native binding. */
function fakeTensorflowPackage(usesGpu: boolean) {
  return (name: string) => {
    if (!name.startsWith('@tensorflow/tfjs-node')) throw new Error(`Cannot find module '${name}'`);
    tf.registerBackend('tensorflow', () => {
      const Cpu = tf.findBackend('cpu')!.constructor as new () => tf.KernelBackend;
      return Object.assign(new Cpu(), { binding: { isUsingGpuDevice: () => usesGpu } });
    });
  };
}

const noNativePackages = (name: string) => {
  if (name.startsWith('@tensorflow/tfjs-node')) throw new Error(`Cannot find module '${name}'`);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(name);
};

/** Neither tfjs-node nor onnxruntime-node installed. */
const noNativeOrOnnxruntime = (name: string) => {
  if (name.startsWith('onnxruntime-')) throw new Error(`Cannot find module '${name}'`);
  return noNativePackages(name);
};

afterEach(() => {
  if (tf.findBackend('tensorflow') != null) tf.removeBackend('tensorflow');
});

describe('resolveBackendChoice', () => {
  test('option, then environment, then auto', () => {
    expect(resolveBackendChoice('cpu', { [BACKEND_ENV_VAR]: 'wasm' })).toBe('cpu');
    expect(resolveBackendChoice(undefined, { [BACKEND_ENV_VAR]: 'WASM' })).toBe('wasm');
    expect(resolveBackendChoice(undefined, { [BACKEND_ENV_VAR]: '' })).toBe('auto');
    expect(resolveBackendChoice(undefined, {})).toBe('auto');
  });
  test('an unknown name is a user error naming its source', () => {
    expect(() => resolveBackendChoice('webgpu', {})).toThrow(UserError);
    expect(() => resolveBackendChoice('webgpu', {})).toThrow(
      /^--backend: unknown backend 'webgpu'/,
    );
    expect(() => resolveBackendChoice(undefined, { [BACKEND_ENV_VAR]: 'x' })).toThrow(
      /^\$TALKING_HEADS_BACKEND: unknown backend 'x'/,
    );
  });
});

describe('initBackend', () => {
  test('auto without tfjs-node takes native (onnxruntime) and says why', async () => {
    const selection = await initBackend({ backend: 'auto', loadModule: noNativePackages, env: {} });
    expect(selection.name).toBe('native');
    expect(tf.getBackend()).toBe('native');
    expect(selection.skipped.map((s) => s.name)).toEqual(['tensorflow-gpu', 'tensorflow']);
    expect(selection.skipped[0]!.why).toMatch(/tfjs-node-gpu did not load \(Cannot find module/);
  });

  test('auto orders native and wasm by the workload', async () => {
    const faces = await initBackend({
      loadModule: noNativePackages,
      env: {},
      workload: { kind: 'faces' },
    });
    expect(faces.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    const small = { kind: 'generation', imageSize: 64, baseWidth: 8 } as const;
    expect(
      (await initBackend({ loadModule: noNativePackages, env: {}, workload: small })).name,
    ).toBe('wasm');
    const large = { kind: 'generation', imageSize: 256, baseWidth: 64 } as const;
    expect(
      (await initBackend({ loadModule: noNativePackages, env: {}, workload: large })).name,
    ).toBe('native');
    // A named backend is taken whatever the workload.
    expect(
      (await initBackend({ backend: 'native', env: {}, workload: { kind: 'faces' } })).name,
    ).toBe('native');
  });

  test('auto without tfjs-node or onnxruntime-node falls back to wasm and says why', async () => {
    const selection = await initBackend({ loadModule: noNativeOrOnnxruntime, env: {} });
    expect(selection.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(selection.skipped.map((s) => s.name)).toEqual([
      'tensorflow-gpu',
      'tensorflow',
      'native',
    ]);
    expect(selection.skipped[2]!.why).toMatch(/onnxruntime-node did not load \(Cannot find module/);
  });

  test('native takes --threads; a missing onnxruntime-node is a one-line install hint', async () => {
    await initBackend({ backend: 'native', threads: 1, env: {} });
    const { nativeBackendInstance } = await import('../../src/backend/native/nativeBackend');
    expect(nativeBackendInstance()!.ops.threads).toBe(1);
    const attempt = initBackend({ backend: 'native', loadModule: noNativeOrOnnxruntime, env: {} });
    await expect(attempt).rejects.toThrow(UserError);
    await expect(attempt).rejects.toThrow(/^backend 'native' is not available: .*npm ci/);
  });

  test('auto takes tfjs-node-gpu when it sees a GPU', async () => {
    const selection = await initBackend({ loadModule: fakeTensorflowPackage(true), env: {} });
    expect(selection).toEqual({ name: 'tensorflow-gpu', tfjsName: 'tensorflow', skipped: [] });
    expect(tf.getBackend()).toBe('tensorflow');
  });

  test('auto skips the GPU build when it sees no GPU, and runs it as plain tensorflow', async () => {
    const selection = await initBackend({ loadModule: fakeTensorflowPackage(false), env: {} });
    expect(selection.name).toBe('tensorflow');
    expect(selection.skipped).toEqual([
      { name: 'tensorflow-gpu', why: expect.stringMatching(/sees no GPU/) },
    ]);
  });

  test('a named backend that is missing is a one-line user error with the install hint', async () => {
    const attempt = initBackend({
      backend: 'tensorflow-gpu',
      loadModule: noNativePackages,
      env: {},
    });
    await expect(attempt).rejects.toThrow(UserError);
    await expect(
      initBackend({ backend: 'tensorflow', loadModule: noNativePackages, env: {} }),
    ).rejects.toThrow(
      /^backend 'tensorflow' is not available: @tensorflow\/tfjs-node did not load .*npm install @tensorflow\/tfjs-node/,
    );
    const message = await attempt.catch((err: Error) => err.message);
    expect(message).not.toContain('\n');
    expect(message).toContain('CUDA 11.2 and cuDNN 8.1');
  });

  test('the environment variable picks the backend when no option is given', async () => {
    const selection = await initBackend({ env: { [BACKEND_ENV_VAR]: 'cpu' } });
    expect(selection.name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
  });

  test('wasm and cpu get the training kernels registered', async () => {
    await initBackend({ backend: 'wasm', env: {} });
    await initBackend({ backend: 'cpu', env: {} });
    for (const config of [...WASM_TRAINING_KERNELS, ...CPU_FAST_KERNELS]) {
      expect(tf.getKernel(config.kernelName, config.backendName)?.kernelFunc).toBe(
        config.kernelFunc,
      );
    }
  });
});
