import * as tf from '@tensorflow/tfjs';
import { referenceOps } from './opsMode';

/** A node of tfjs's gradient tape (tfjs-core's TapeNode). */
interface TapeNode {
  id: number;
  kernelName: string;
  inputs: Record<string, tf.Tensor>;
  outputs: tf.Tensor[];
  gradient?: (dys: (tf.Tensor | null)[]) => Record<string, () => tf.Tensor>;
  saved?: tf.Tensor[];
}

type AddTapeNode = (
  kernelName: string,
  inputs: Record<string, tf.Tensor>,
  outputs: tf.Tensor[],
  gradientsFunc: unknown,
  saved: tf.Tensor[],
  attrs: unknown,
) => void;

/** The parts of tfjs's engine that tf.variableGrads itself runs on. */
interface TapeEngine {
  state: { activeTape: TapeNode[] | null; gradientDepth: number };
  scopedRun<T>(start: () => void, end: () => void, f: () => T): T;
  startTape(): void;
  endTape(): void;
  tidy<T extends tf.TensorContainer>(nameOrFn: string | (() => T), fn?: () => T): T;
  addTapeNode: AddTapeNode;
}

/**
 * Kernels whose tfjs gradient reads only the shapes of the tensors it saves (AvgPool's hands its
 * saved 4D input to AvgPoolGrad, whose kernels read its shape alone). Saving pins each one's
 * data until its gradient runs: an Add's two inputs, a Mean's input, an average pool's
 * full-size input.
 */
const SHAPE_ONLY_SAVES = new Set([
  'Add',
  'Sub',
  'Reshape',
  'Sum',
  'Mean',
  'Concat',
  'Slice',
  'PadV2',
]);

function shapesAreEnough(kernelName: string, saved: readonly tf.Tensor[]): boolean {
  if (kernelName === 'AvgPool') return saved.length === 1 && saved[0]!.rank === 4;
  return SHAPE_ONLY_SAVES.has(kernelName);
}

function tapeEngine(): TapeEngine {
  const engine = tf.engine() as unknown as Partial<TapeEngine>;
  for (const method of ['scopedRun', 'startTape', 'endTape', 'tidy', 'addTapeNode'] as const)
    if (typeof engine[method] !== 'function') throw new Error(`tfjs's engine has no ${method}()`);
  if (typeof engine.state?.gradientDepth !== 'number')
    throw new Error("tfjs's engine no longer has state.gradientDepth");
  return engine as TapeEngine;
}

/**
 * tf.variableGrads(f, variables) with the same ops in the same order, so the same values, but
 * each tensor freed as soon as the backward pass is done with it. tfjs keeps every tensor a
 * kernel saved for its gradient, and the gradient of every intermediate tensor, until the whole
 * backward pass ends: the peak is then the forward's activations and all their gradients at
 * once. Here kernels that need only shapes (SHAPE_ONLY_SAVES) give up their saved tensors as
 * soon as they are recorded, the saved tensors of nodes off the path from `variables` to the
 * loss (passes over detached inputs) go before the backward pass, and each node's saved tensors
 * and output gradients go once its input gradients are made.
 * Nested in another gradient (or with reference ops), tf.variableGrads itself runs.
 */
export function variableGrads(
  f: () => tf.Scalar,
  variables: readonly tf.Variable[],
): { value: tf.Scalar; grads: tf.NamedTensorMap } {
  const engine = tapeEngine();
  if (referenceOps() || engine.state.gradientDepth > 0) {
    const { value, grads } = tf.variableGrads(f, [...variables]);
    return { value, grads: grads as tf.NamedTensorMap };
  }
  const xs = variables.filter((v) => v.trainable);
  if (xs.length === 0) throw new Error('variableGrads: none of the variables is trainable');
  const { value, grads } = gradients(engine, f, xs);
  if (!grads.some((g) => g != null))
    throw new Error('variableGrads: no variable is connected to the result of f');
  if (value.rank !== 0) throw new Error(`variableGrads: f returned a rank-${value.rank} tensor`);
  const named: tf.NamedTensorMap = {};
  xs.forEach((v, i) => {
    if (grads[i] != null) named[v.name] = grads[i];
  });
  return { value: value as tf.Scalar, grads: named };
}

/** tfjs's Engine.gradients, freeing as it goes. */
function gradients(
  engine: TapeEngine,
  f: () => tf.Tensor,
  xs: readonly tf.Tensor[],
): { value: tf.Tensor; grads: (tf.Tensor | undefined)[] } {
  const y = recordingShapesOnly(engine, () =>
    engine.scopedRun(
      () => engine.startTape(),
      () => engine.endTape(),
      () => engine.tidy('forward', f),
    ),
  );
  const tape = engine.state.activeTape!;
  try {
    const path = nodesFromXsToY(tape, xs, y);
    const onPath = new Set(path.map((node) => node.id));
    for (const node of tape) if (!onPath.has(node.id)) disposeSaved(node);
    return engine.tidy('backward', () => {
      const grads = backpropagate(engine, path, y, new Set(xs.map((x) => x.id)));
      return { value: y, grads: xs.map((x) => grads.get(x.id)) };
    });
  } finally {
    for (const node of tape) disposeSaved(node);
    engine.state.activeTape = null;
  }
}

/**
 * Runs f with the engine releasing, as each is recorded, the saved tensors of kernels whose
 * gradient needs only their shapes: a disposed tensor keeps its shape.
 */
function recordingShapesOnly<T>(engine: TapeEngine, f: () => T): T {
  const own = Object.prototype.hasOwnProperty.call(engine, 'addTapeNode');
  const addTapeNode = engine.addTapeNode;
  engine.addTapeNode = function (
    this: TapeEngine,
    kernelName,
    inputs,
    outputs,
    grad,
    saved,
    attrs,
  ) {
    addTapeNode.call(this, kernelName, inputs, outputs, grad, saved, attrs);
    if (shapesAreEnough(kernelName, saved)) for (const t of saved) t.dispose();
  };
  try {
    return f();
  } finally {
    if (own) engine.addTapeNode = addTapeNode;
    else delete (engine as Partial<TapeEngine>).addTapeNode;
  }
}

function disposeSaved(node: TapeNode): void {
  for (const t of node.saved ?? []) t.dispose();
}

/**
 * tfjs's backpropagateGradients (the same gradients, added up in the same order), except that
 * a node's output gradients and saved tensors are disposed once its input gradients are made:
 * every consumer of its outputs comes later on the tape, so they have all been processed.
 * Gradients of `keep` (the variables) stay. Returns the gradients by tensor id.
 */
function backpropagate(
  engine: TapeEngine,
  path: readonly TapeNode[],
  y: tf.Tensor,
  keep: ReadonlySet<number>,
): Map<number, tf.Tensor> {
  const grads = new Map<number, tf.Tensor>();
  // A gradient function may hand a dy on as an input's gradient: one tensor can then be the
  // gradient of several tensors, and goes when the last of them is done.
  const holders = new Map<tf.Tensor, number>();
  const store = (id: number, t: tf.Tensor) => {
    grads.set(id, t);
    holders.set(t, (holders.get(t) ?? 0) + 1);
  };
  const unstore = (id: number) => {
    const t = grads.get(id);
    if (t == null) return;
    grads.delete(id);
    const left = holders.get(t)! - 1;
    if (left > 0) holders.set(t, left);
    else {
      holders.delete(t);
      t.dispose();
    }
  };
  store(y.id, tf.ones(y.shape));
  for (let i = path.length - 1; i >= 0; i--) {
    const node = path[i]!;
    if (node.gradient == null)
      throw new Error(
        `Cannot compute gradient: gradient function not found for ${node.kernelName}.`,
      );
    const inputGradients = node.gradient(node.outputs.map((o) => grads.get(o.id) ?? null));
    for (const [name, x] of Object.entries(node.inputs)) {
      const gradient = inputGradients[name];
      if (gradient == null)
        throw new Error(`Cannot backprop through input ${name} of ${node.kernelName}.`);
      const dx = engine.tidy(gradient);
      if (dx.dtype !== 'float32' || !tf.util.arraysEqual(dx.shape, x.shape))
        throw new Error(
          `The gradient of ${node.kernelName}'s ${name} is ${dx.dtype} [${dx.shape}], expected float32 [${x.shape}]`,
        );
      const sum = grads.get(x.id);
      if (sum == null) store(x.id, dx);
      else {
        const total = tf.add(sum, dx);
        unstore(x.id);
        store(x.id, total);
        if (!holders.has(dx)) dx.dispose();
      }
    }
    for (const o of node.outputs) if (!keep.has(o.id)) unstore(o.id);
    disposeSaved(node);
  }
  return grads;
}

/**
 * tfjs's getFilteredNodesXToY: the nodes on a path from `xs` to `y`, in tape order, each with
 * only the inputs that depend on `xs`.
 */
function nodesFromXsToY(tape: readonly TapeNode[], xs: readonly tf.Tensor[], y: tf.Tensor) {
  const fromX = new Set(xs.map((x) => x.id));
  const nodesFromX = new Set<number>();
  for (const node of tape) {
    if (Object.values(node.inputs).some((input) => fromX.has(input.id))) {
      for (const o of node.outputs) fromX.add(o.id);
      nodesFromX.add(node.id);
    }
  }
  const toY = new Set([y.id]);
  const nodesToY = new Set<number>();
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i]!;
    if (node.outputs.some((o) => toY.has(o.id))) {
      for (const input of Object.values(node.inputs)) toY.add(input.id);
      nodesToY.add(node.id);
    }
  }
  return tape
    .filter((node) => nodesFromX.has(node.id) && nodesToY.has(node.id))
    .map((node) => ({
      ...node,
      inputs: Object.fromEntries(
        Object.entries(node.inputs).filter(([, input]) => fromX.has(input.id)),
      ),
    }));
}
