import * as tf from '@tensorflow/tfjs';

/**
 * Registers kernels over any of the same name and backend, without tfjs's duplicate-kernel
 * warning. Idempotent. Kernels registered after their backend initialised get no setup call,
 * so these must not need one.
 */
export function replaceKernels(configs: readonly tf.KernelConfig[]): void {
  for (const config of configs) {
    const current = tf.getKernel(config.kernelName, config.backendName);
    if (current?.kernelFunc === config.kernelFunc) continue;
    if (current != null) tf.unregisterKernel(config.kernelName, config.backendName);
    tf.registerKernel(config);
  }
}
