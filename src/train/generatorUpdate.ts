import * as tf from '@tensorflow/tfjs';
import { applyInOrder, clipNetworkGradients, globalNorm } from './gradients';
import { variableGrads } from '../ops/variableGrads';

export interface GeneratorUpdateResult<Term extends string, Network extends string> {
  /** Each term as it enters the objective, and their sum. */
  losses: Record<Term | 'total', number>;
  /** Each network's global gradient norm, before clipping; 0 when nothing was applied. */
  gradientNorms: Record<Network, number>;
  /** The first non-finite term, 'total', or 'gradient' (a NaN gradient): nothing was applied. */
  nonFinite?: Term | 'total' | 'gradient';
}

/**
 * One update of the generator side (E and G in meta-learning, G with psi' in fine-tuning) on
 * the sum of the terms `objective` builds, by `optimizer` over the networks' variables in the
 * order given. Each network's gradient is clipped on its own, so that one network's spike (E's
 * L_MCH gradient) never scales another's step down. A non-finite term applies nothing.
 */
export function generatorUpdate<Term extends string, Network extends string>(
  optimizer: tf.Optimizer,
  networks: Record<Network, tf.Variable[]>,
  gradientClip: number | undefined,
  objective: () => Record<Term, tf.Scalar>,
): GeneratorUpdateResult<Term, Network> {
  const owned = Object.entries(networks) as [Network, tf.Variable[]][];
  const variables = owned.flatMap(([, vars]) => vars);
  const terms = {} as Record<Term, number>;
  const { value, grads } = variableGrads(() => {
    const parts = objective();
    for (const [name, t] of Object.entries(parts) as [Term, tf.Scalar][])
      terms[name] = t.dataSync()[0]!;
    return tf.addN(Object.values(parts)) as tf.Scalar;
  }, variables);
  const total = value.dataSync()[0]!;
  value.dispose();
  const losses = { ...terms, total } as Record<Term | 'total', number>;
  const gradientNorms = Object.fromEntries(owned.map(([name]) => [name, 0])) as Record<
    Network,
    number
  >;
  const bad = (Object.entries(terms) as [Term, number][]).find(([, v]) => !Number.isFinite(v));
  if (bad || !Number.isFinite(total)) {
    tf.dispose(Object.values(grads));
    return { losses, gradientNorms, nonFinite: bad ? bad[0] : 'total' };
  }
  for (const [name, vars] of owned)
    gradientNorms[name] = globalNorm(vars.flatMap((v) => grads[v.name] ?? []));
  if (!Object.values<number>(gradientNorms).every(Number.isFinite)) {
    tf.dispose(Object.values(grads));
    return { losses, gradientNorms, nonFinite: 'gradient' };
  }
  for (const [name, vars] of owned)
    clipNetworkGradients(grads, vars, gradientClip, gradientNorms[name]);
  // Clipped already: the norm passed only spares applyInOrder measuring it again.
  applyInOrder(
    optimizer,
    variables,
    grads,
    undefined,
    Math.hypot(...Object.values<number>(gradientNorms)),
  );
  return { losses, gradientNorms };
}
