import type { onnx } from 'onnx-proto';

/**
 * Structural problems of an ONNX model, as sentences; empty when it is sound:
 * the default-domain opset is declared, every node input is a graph input, an initializer or an
 * earlier node's output (nodes in topological order), every value is produced once, every
 * initializer and every node output is used, and every graph output is produced.
 */
export function onnxStructureProblems(model: onnx.IModelProto): string[] {
  const problems: string[] = [];
  const opset = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  if (!opset || !Number(opset.version)) problems.push('no default-domain opset is declared');
  if (!Number(model.irVersion)) problems.push('no IR version is declared');
  const graph = model.graph;
  if (!graph) return [...problems, 'the model has no graph'];

  const defined = new Set<string>();
  const define = (name: string, what: string) => {
    if (defined.has(name)) problems.push(`${what} '${name}' is defined twice`);
    defined.add(name);
  };
  for (const input of graph.input ?? []) define(input.name ?? '', 'graph input');
  const initializers = (graph.initializer ?? []).map((t) => t.name ?? '');
  for (const name of initializers) define(name, 'initializer');

  const used = new Set<string>();
  const producedBy = new Map<string, string>();
  for (const node of graph.node ?? []) {
    const label = `node '${node.name ?? ''}' (${node.opType ?? '?'})`;
    for (const input of node.input ?? []) {
      if (input === '') continue; // an omitted optional input
      if (!defined.has(input)) problems.push(`${label} uses '${input}' before it is produced`);
      used.add(input);
    }
    for (const output of node.output ?? []) {
      define(output, `output of ${label}`);
      producedBy.set(output, label);
    }
  }
  const outputs = new Set((graph.output ?? []).map((o) => o.name ?? ''));
  for (const name of outputs) {
    if (!defined.has(name)) problems.push(`graph output '${name}' is never produced`);
    used.add(name);
  }
  for (const name of initializers)
    if (!used.has(name)) problems.push(`initializer '${name}' is never used`);
  for (const [name, label] of producedBy)
    if (!used.has(name)) problems.push(`${label} output '${name}' is never used`);
  return problems;
}
