/**
 * A fused Adam step for one variable, a kernel of backends that have it (native): inputs value,
 * m, v and gradient; outputs the new value, m and v. See src/ops/adam.ts.
 */
export const ADAM_UPDATE = 'TalkingHeadsAdamUpdate';

export interface AdamUpdateAttrs {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  /** 1 - beta1^t and 1 - beta2^t: the bias corrections at this step. */
  correction1: number;
  correction2: number;
}
