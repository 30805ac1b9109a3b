import { onnx } from 'onnx-proto';
import { OnnxGraphBuilder } from '../../src/formats/onnxGraph';
import { onnxStructureProblems } from '../../src/export/onnxStructure';

const io = (name: string) => ({ name, shape: ['batch', 4], doc: name });

/** A small sound model: y = relu(x * w + b). */
function soundModel(): onnx.ModelProto {
  const b = new OnnxGraphBuilder();
  const x = b.input(io('x'));
  const w = b.weight('w', new Float32Array([1, 2, 3, 4]), [4]);
  const bias = b.weight('b', new Float32Array(4), [4]);
  const y = b.node('Relu', [b.node('Add', [b.node('Mul', [x, w]), bias])]);
  b.output(y, io('y'));
  return b.model({ graphName: 'g', doc: '', metadata: {}, producerVersion: '0' });
}

test('a sound model has no problems', () => {
  expect(onnxStructureProblems(soundModel())).toEqual([]);
});

test('nodes out of topological order are reported', () => {
  const model = soundModel();
  model.graph!.node!.reverse();
  expect(onnxStructureProblems(model)).toEqual(
    expect.arrayContaining([
      expect.stringMatching(/node 'node:Relu' \(Relu\) uses 'Add' before it is produced/),
    ]),
  );
});

test('an unused initializer, a dead node and a missing output are reported', () => {
  const model = soundModel();
  model.graph!.initializer!.push({
    name: 'orphan',
    dims: [1],
    dataType: 1,
    rawData: new Uint8Array(4),
  });
  model.graph!.node!.push({ name: 'dead', opType: 'Neg', input: ['x'], output: ['nobody'] });
  model.graph!.output!.push({ name: 'ghost' });
  expect(onnxStructureProblems(model)).toEqual([
    "graph output 'ghost' is never produced",
    "initializer 'orphan' is never used",
    "node 'dead' (Neg) output 'nobody' is never used",
  ]);
});

test('a missing opset or IR version and a value defined twice are reported', () => {
  const model = soundModel();
  model.opsetImport = [];
  model.irVersion = 0;
  model.graph!.node![0]!.output = ['x'];
  const problems = onnxStructureProblems(model);
  expect(problems).toContain('no default-domain opset is declared');
  expect(problems).toContain('no IR version is declared');
  expect(problems).toContain("output of node 'node:Mul' (Mul) 'x' is defined twice");
});

test('the builder refuses an input that does not exist yet and a duplicate graph value', () => {
  const b = new OnnxGraphBuilder();
  const x = b.input(io('x'));
  expect(() => b.node('Relu', ['later'])).toThrow(/input later is not defined yet/);
  expect(() => b.input(io('x'))).toThrow(/duplicate graph value x/);
  expect(() => b.node('Relu', [x], { alpha: 0.5 })).toThrow(/not an integer/);
});

test('names stay unique, small constants are stored once, fp16 weights hold IEEE half bits', () => {
  const b = new OnnxGraphBuilder('float16');
  const x = b.input(io('x'));
  const axes1 = b.int64s('axes', [2, 3]);
  const axes2 = b.int64s('axes', [2, 3]);
  const axes3 = b.int64s('axes', [1]);
  expect(axes1).toBe(axes2);
  expect(axes3).not.toBe(axes1);
  const w = b.weight('w', new Float32Array([1, -2, 0.5, 65504]), [4]);
  const y = b.node('Add', [b.node('Mul', [x, w]), b.node('Unsqueeze', [x, axes3])]);
  b.node('Squeeze', [y, axes1]);
  const model = b.model({ graphName: 'g', doc: '', metadata: {}, producerVersion: '0' });
  const init = model.graph!.initializer!;
  expect(init.map((t) => t.name)).toEqual(['axes', 'axes_1', 'w_fp16']);
  const half = init[2]!;
  expect(half.dataType).toBe(onnx.TensorProto.DataType.FLOAT16);
  const bits = new Uint16Array(half.rawData!.slice().buffer);
  expect([...bits]).toEqual([0x3c00, 0xc000, 0x3800, 0x7bff]);
  const cast = model.graph!.node!.find((n) => n.opType === 'Cast')!;
  expect(cast.output).toEqual(['w']);
  expect(cast.attribute![0]).toMatchObject({ name: 'to', i: onnx.TensorProto.DataType.FLOAT });
  const outputs = model.graph!.node!.flatMap((n) => n.output!);
  expect(new Set(outputs).size).toBe(outputs.length);
  const int64 = new BigInt64Array(init[0]!.rawData!.slice().buffer);
  expect([...int64]).toEqual([2n, 3n]);
});
