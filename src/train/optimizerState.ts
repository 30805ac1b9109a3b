/**
 * Optimizer state in a checkpoint's optimizers.safetensors.
 *
 * tfjs optimizers give their state as getWeights(): first the iteration count ('iter'), then
 * one slot per variable and kind, named after the tfjs variable ('Variable_12/m'). Those names
 * differ from one process to the next, so the file names each slot after our stable weight name
 * instead: optimizer.<optimizer>.<weight>/<kind>. tfjs matches slots to gradients by position,
 * not by name, so the slot order is kept too (in the metadata: optimizer.<optimizer>.slots, with
 * the optimizer's class in optimizer.<optimizer>.class) and restored as is. Adam's running beta
 * powers are kept as optimizer.<optimizer>.accBeta1 / accBeta2 (see adamBetaPowers).
 * The caller's extra variables go in the same file as extra.<name>.
 */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../errors';
import {
  rawToTensor,
  readSafetensorsFile,
  tensorToRaw,
  type RawTensor,
} from '../formats/safetensors';
import { sameShape } from '../formats/shape';
import type { LayerVariable } from '../models/layers/moduleLayer';
import { printable, quote } from '../oneLine';

/** An optimizer and the variables it updates, by stable weight name (collectWeights' names). */
export interface CheckpointOptimizer {
  optimizer: tf.Optimizer;
  variables: Map<string, tf.Variable | LayerVariable>;
}

/** The tensors and metadata of an optimizers.safetensors file. */
export interface OptimizerStateFile {
  tensors: Record<string, RawTensor>;
  metadata: Record<string, string>;
}

const FILE_FORMAT = 'talking-heads-optimizers';
const ITERATIONS = 'iterations';
const EXTRA_PREFIX = 'extra.';
/** Adam's running beta powers, which getWeights leaves out (see adamBetaPowers). */
const ADAM_BETA_POWERS = ['accBeta1', 'accBeta2'] as const;

interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}

/**
 * Reads the optimizers' state and the extra variables (by name) into what optimizers.safetensors
 * holds. A variable missing from an optimizer's map is a bug of the caller: an Error.
 */
export async function collectOptimizerState(
  optimizers: Record<string, CheckpointOptimizer>,
  extra: Record<string, tf.Variable>,
): Promise<OptimizerStateFile> {
  const tensors: Record<string, RawTensor> = {};
  const metadata: Record<string, string> = { format: FILE_FORMAT };
  for (const [key, { optimizer, variables }] of Object.entries(optimizers)) {
    const prefix = `optimizer.${key}.`;
    const stableNames = new Map<string, string>();
    for (const [name, variable] of variables) stableNames.set(tfjsName(variable), name);
    const [iterations, ...slots] = (await optimizer.getWeights()) as NamedTensor[];
    tensors[prefix + ITERATIONS] = tensorToRaw(iterations!.tensor);
    iterations!.tensor.dispose(); // a fresh scalar; the slots are the optimizer's own variables
    const order: string[] = [];
    for (const { name, tensor } of slots) {
      const slash = name.lastIndexOf('/');
      const stable = stableNames.get(name.slice(0, slash));
      if (slash < 0 || stable == null)
        throw new Error(
          `saveCheckpoint: optimizer '${key}' holds state ${quote(name)} for a variable ` +
            'missing from its variables map',
        );
      const slot = `${stable}${name.slice(slash)}`;
      order.push(slot);
      tensors[prefix + slot] = tensorToRaw(tensor);
    }
    const betaPowers = adamBetaPowers(optimizer);
    if (betaPowers)
      ADAM_BETA_POWERS.forEach((n, i) => (tensors[prefix + n] = tensorToRaw(betaPowers[i]!)));
    metadata[`${prefix}class`] = optimizer.getClassName();
    metadata[`${prefix}slots`] = JSON.stringify(order);
  }
  for (const [name, variable] of Object.entries(extra))
    tensors[`${EXTRA_PREFIX}${name}`] = tensorToRaw(variable);
  return { tensors, metadata };
}

/**
 * Checks every optimizer's state and extra variable in `file`, then sets them all; each problem
 * is a one-line UserError naming the file, raised before anything is set.
 */
export async function restoreOptimizerState(
  file: string,
  optimizers: Record<string, CheckpointOptimizer>,
  extra: Record<string, tf.Variable>,
): Promise<void> {
  const { tensors, metadata } = await readSafetensorsFile(file);
  const where = printable(file);
  const used = new Set<string>();
  const take = (name: string, shape: readonly number[]): RawTensor => {
    const raw = tensors[name];
    if (raw == null) throw new UserError(`${where}: missing tensor ${quote(name)}`);
    if (!sameShape(raw.shape, shape))
      throw new UserError(
        `${where}: tensor ${quote(name)} has shape [${raw.shape}], the variable needs [${shape}]`,
      );
    used.add(name);
    return raw;
  };

  const plans: { optimizer: tf.Optimizer; weights: [string, RawTensor][]; betas?: RawTensor[] }[] =
    [];
  for (const [key, { optimizer, variables }] of Object.entries(optimizers)) {
    const prefix = `optimizer.${key}.`;
    const saved = metadata[`${prefix}class`];
    if (saved == null) throw new UserError(`${where}: holds no state for optimizer '${key}'`);
    if (saved !== optimizer.getClassName())
      throw new UserError(
        `${where}: optimizer '${key}' was ${quote(saved)}, the run uses ` +
          `${quote(optimizer.getClassName())}`,
      );
    const order = parseSlots(metadata[`${prefix}slots`], `${where}: ${prefix}slots`);
    const weights: [string, RawTensor][] = [['iter', take(prefix + ITERATIONS, [])]];
    for (const slot of order) {
      const slash = slot.lastIndexOf('/');
      const variable = slash < 0 ? undefined : variables.get(slot.slice(0, slash));
      if (variable == null)
        throw new UserError(
          `${where}: state ${quote(prefix + slot)} is for a variable optimizer '${key}' ` +
            'does not have: a checkpoint of another model?',
        );
      const raw = take(prefix + slot, variable.shape as number[]);
      weights.push([`${tfjsName(variable)}${slot.slice(slash)}`, raw]);
    }
    const betas = adamBetaPowers(optimizer)
      ? ADAM_BETA_POWERS.map((n) => take(prefix + n, []))
      : undefined;
    plans.push({ optimizer, weights, betas });
  }
  const extraValues = Object.entries(extra).map(
    ([name, variable]) => [variable, take(EXTRA_PREFIX + name, variable.shape)] as const,
  );
  const unexpected = Object.keys(tensors).find((name) => !used.has(name));
  if (unexpected != null)
    throw new UserError(
      `${where}: unexpected tensor ${quote(unexpected)}: state of another run's optimizers?`,
    );

  for (const [variable, raw] of extraValues) {
    const value = rawToTensor(raw, file);
    variable.assign(value);
    value.dispose();
  }
  for (const { optimizer, weights, betas } of plans) {
    const values = weights.map(([name, raw]) => ({ name, tensor: rawToTensor(raw, file) }));
    const previous = (await optimizer.getWeights()) as NamedTensor[];
    await optimizer.setWeights(values);
    // setWeights makes new slot variables: free the old ones and our copies.
    tf.dispose([...previous.map((w) => w.tensor), ...values.map((w) => w.tensor)]);
    const powers = adamBetaPowers(optimizer);
    if (powers && betas)
      powers.forEach((power, i) => {
        const value = rawToTensor(betas[i]!, file);
        power.assign(value);
        value.dispose();
      });
  }
}

/**
 * Adam's bias corrections use beta1^t and beta2^t, kept as running products. setWeights
 * recomputes them with pow(), which differs from the product in the last bits after a few
 * steps, so a restored Adam would not continue exactly; the checkpoint keeps the products.
 * They are private fields: this returns them only if they are there, as variables.
 */
function adamBetaPowers(optimizer: tf.Optimizer): tf.Variable[] | undefined {
  if (optimizer.getClassName() !== 'Adam') return undefined;
  const fields = optimizer as unknown as Record<string, unknown>;
  const powers = ADAM_BETA_POWERS.map((n) => fields[n]);
  if (!powers.every((p) => p instanceof tf.Variable))
    throw new Error("tfjs's AdamOptimizer no longer has accBeta1/accBeta2 variables");
  return powers as tf.Variable[];
}

function parseSlots(text: string | undefined, where: string): string[] {
  let value: unknown;
  try {
    value = JSON.parse(text ?? '');
  } catch {
    throw new UserError(`${where}: missing or not JSON`);
  }
  if (!Array.isArray(value) || !value.every((s) => typeof s === 'string'))
    throw new UserError(`${where}: not a list of names`);
  return value as string[];
}

/** The engine's name of the variable, which tfjs optimizers key their state by. */
function tfjsName(variable: tf.Variable | LayerVariable): string {
  return variable instanceof tf.Variable ? variable.name : (variable.read() as tf.Variable).name;
}
