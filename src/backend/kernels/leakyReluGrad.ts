/**
 * LeakyRelu's gradient as one kernel, of backends that have it (native): inputs dy and x, output
 * dx = dy where x > 0, else alpha dy. See src/ops/leakyRelu.ts.
 */
export const LEAKY_RELU_GRAD = 'TalkingHeadsLeakyReluGrad';

export interface LeakyReluGradAttrs {
  alpha: number;
}
