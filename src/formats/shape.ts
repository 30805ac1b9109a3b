/** Checks and arithmetic on tensor shapes read from weight files (safetensors, PyTorch). */

/** Whether two shapes have the same dimensions: a tensor read from a file fits a variable. */
export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

/** A non-negative safe integer: a dimension, an offset, a stride. */
export function isIndex(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

/** A list of dimensions (or of strides). */
export function isShape(value: unknown): value is number[] {
  return Array.isArray(value) && value.every(isIndex);
}
