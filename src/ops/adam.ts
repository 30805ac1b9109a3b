import * as tf from '@tensorflow/tfjs';
import { ADAM_UPDATE, type AdamUpdateAttrs } from '../backend/kernels/adamUpdate';
import { referenceOps } from './opsMode';

export interface AdamSettings {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
}

type Gradients = Parameters<tf.AdamOptimizer['applyGradients']>[0];

/** tfjs's AdamOptimizer state, private in its typings. */
interface AdamState {
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: ({ originalName: string; variable: tf.Variable } | undefined)[];
  accumulatedSecondMoment: ({ originalName: string; variable: tf.Variable } | undefined)[];
}

/**
 * tfjs's Adam, whose step runs as one fused kernel per variable where the backend has one
 * (native; see src/backend/native/adamKernel.ts), and as tfjs's own ops elsewhere and with
 * reference ops. State, getWeights/setWeights and the class name ('Adam') are tfjs's, so
 * checkpoints do not change, and either kind of step can follow the other.
 */
export class FusedAdamOptimizer extends tf.AdamOptimizer {
  override applyGradients(variableGradients: Gradients): void {
    if (referenceOps() || tf.getKernel(ADAM_UPDATE, tf.getBackend()) == null) {
      super.applyGradients(variableGradients);
      return;
    }
    const state = this as unknown as AdamState;
    const named = Array.isArray(variableGradients)
      ? variableGradients
      : Object.entries(variableGradients).map(([name, tensor]) => ({ name, tensor }));
    const attrs: AdamUpdateAttrs = {
      learningRate: this.learningRate,
      beta1: this.beta1,
      beta2: this.beta2,
      epsilon: this.epsilon,
      correction1: 1 - state.accBeta1.dataSync()[0]!,
      correction2: 1 - state.accBeta2.dataSync()[0]!,
    };
    named.forEach(({ name, tensor: gradient }, i) => {
      const value = tf.engine().registeredVariables[name]!;
      const moment = (suffix: string) => ({
        originalName: `${name}/${suffix}`,
        variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
      });
      state.accumulatedFirstMoment[i] ??= moment('m');
      state.accumulatedSecondMoment[i] ??= moment('v');
      if (gradient == null) return;
      const m = state.accumulatedFirstMoment[i]!.variable;
      const v = state.accumulatedSecondMoment[i]!.variable;
      const [w1, m1, v1] = tf
        .engine()
        .runKernel(
          ADAM_UPDATE,
          { value, m, v, gradient },
          attrs as unknown as tf.NamedAttrMap,
        ) as tf.Tensor[];
      m.assign(m1!);
      v.assign(v1!);
      value.assign(w1!);
      tf.dispose([w1!, m1!, v1!]);
    });
    tf.tidy(() => {
      state.accBeta1.assign(tf.mul(state.accBeta1, this.beta1));
      state.accBeta2.assign(tf.mul(state.accBeta2, this.beta2));
    });
    this.incrementIterations();
  }
}

/** Adam with these settings, fused where the backend allows. */
export function adamOptimizer({
  learningRate,
  beta1,
  beta2,
  epsilon,
}: AdamSettings): FusedAdamOptimizer {
  return new FusedAdamOptimizer(learningRate, beta1, beta2, epsilon);
}
