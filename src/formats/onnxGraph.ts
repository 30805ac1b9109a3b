import * as os from 'node:os';
import { Float16Array } from '@petamoriken/float16';
import { onnx } from 'onnx-proto';

/** The ONNX opset every exported model declares (default domain). */
export const OPSET = 17;
/** IR version 8 is the first that carries opset 17 (ONNX 1.12). */
export const IR_VERSION = 8;

/** A dimension: a fixed size or a symbolic name ('batch'). */
export type Dim = number | string;

/** A node attribute: an integer, ints, a string, or a float written `{ float: x }`. */
export type Attribute = number | string | number[] | { float: number };

/** How weights are stored: fp32, or fp16 cast back to fp32 inside the graph. */
export type WeightPrecision = 'float32' | 'float16';

export interface GraphIo {
  name: string;
  shape: Dim[];
  doc: string;
}

if (os.endianness() !== 'LE') {
  // raw_data is little-endian by the ONNX spec; typed-array bytes are the host's order.
  throw new Error('ONNX export needs a little-endian host');
}

/**
 * Builds one ONNX graph node by node, in the order nodes are added, which is therefore a
 * topological order as long as every input exists when its node is added (checked here).
 * Weights become initializers; with fp16 weights each float tensor is stored as FLOAT16 and
 * cast back to float32 by a Cast node, so the graph computes in fp32 from half-size weights.
 */
export class OnnxGraphBuilder {
  private readonly nodes: onnx.INodeProto[] = [];
  private readonly initializers: onnx.ITensorProto[] = [];
  private readonly inputs: onnx.IValueInfoProto[] = [];
  private readonly outputs: onnx.IValueInfoProto[] = [];
  private readonly known = new Set<string>();
  private readonly counters = new Map<string, number>();
  /** Small constants (axes, shapes, scales) by stem and value: each is stored once. */
  private readonly sharedConstants = new Map<string, string>();

  constructor(private readonly precision: WeightPrecision = 'float32') {}

  /** A fresh value name from a readable stem: 'up1.conv1.weight', 'up1.conv1.weight_1', ... */
  private fresh(stem: string): string {
    let name = stem;
    for (let n = this.counters.get(stem) ?? 0; this.known.has(name); n++) {
      name = `${stem}_${n + 1}`;
      this.counters.set(stem, n + 1);
    }
    this.known.add(name);
    return name;
  }

  /** Declares a float32 graph input. */
  input(io: GraphIo): string {
    if (this.known.has(io.name)) throw new Error(`duplicate graph value ${io.name}`);
    this.known.add(io.name);
    this.inputs.push(valueInfo(io));
    return io.name;
  }

  /** Declares a value already computed as a named float32 graph output. */
  output(value: string, io: GraphIo): void {
    if (!this.known.has(value)) throw new Error(`graph output from unknown value ${value}`);
    if (value !== io.name) this.node('Identity', [value], {}, io.name, io.name);
    this.outputs.push(valueInfo(io));
  }

  /** A float weight, stored in the precision the export asked for; returns a float32 value. */
  weight(stem: string, values: Float32Array, dims: number[]): string {
    const { FLOAT, FLOAT16 } = onnx.TensorProto.DataType;
    if (this.precision === 'float32')
      return this.initializer(this.fresh(stem), dims, FLOAT, bytesOf(Float32Array.from(values)));
    const stored = this.initializer(
      this.fresh(`${stem}_fp16`),
      dims,
      FLOAT16,
      bytesOf(new Float16Array(values)),
    );
    return this.node('Cast', [stored], { to: FLOAT }, stem);
  }

  /** A small float32 initializer, kept in fp32 whatever the weight precision and stored once. */
  constant(stem: string, values: number[], dims: number[]): string {
    const data = Float32Array.from(values);
    return this.shared(`float:${stem}:${dims.join('x')}:${values.join(',')}`, () =>
      this.initializer(this.fresh(stem), dims, onnx.TensorProto.DataType.FLOAT, bytesOf(data)),
    );
  }

  /** An int64 initializer (axes, shapes, slice bounds), stored once. */
  int64s(stem: string, values: number[]): string {
    const data = BigInt64Array.from(values.map((v) => BigInt(v)));
    return this.shared(`int64:${stem}:${values.join(',')}`, () =>
      this.initializer(
        this.fresh(stem),
        [values.length],
        onnx.TensorProto.DataType.INT64,
        bytesOf(data),
      ),
    );
  }

  private shared(key: string, make: () => string): string {
    let name = this.sharedConstants.get(key);
    if (name === undefined) this.sharedConstants.set(key, (name = make()));
    return name;
  }

  private initializer(name: string, dims: number[], dataType: number, rawData: Uint8Array): string {
    this.initializers.push({ name, dims, dataType, rawData });
    return name;
  }

  /** Adds a node with one output; returns the output's name. Use '' for an omitted input. */
  node(
    opType: string,
    inputs: string[],
    attributes: Record<string, Attribute> = {},
    stem = opType,
    outputName?: string,
  ): string {
    return this.nodeN(opType, inputs, 1, attributes, stem, outputName)[0]!;
  }

  /** Adds a node with `count` outputs. */
  nodeN(
    opType: string,
    inputs: string[],
    count: number,
    attributes: Record<string, Attribute> = {},
    stem = opType,
    outputName?: string,
  ): string[] {
    for (const input of inputs) {
      if (input !== '' && !this.known.has(input))
        throw new Error(`${opType} ${stem}: input ${input} is not defined yet`);
    }
    const outputs =
      count === 1 && outputName !== undefined
        ? [this.claim(outputName)]
        : Array.from({ length: count }, (_, i) => this.fresh(count === 1 ? stem : `${stem}_${i}`));
    this.nodes.push({
      name: this.fresh(`node:${stem}`),
      opType,
      input: inputs,
      output: outputs,
      attribute: Object.entries(attributes).map(([name, value]) => attribute(name, value)),
    });
    return outputs;
  }

  private claim(name: string): string {
    if (this.known.has(name)) throw new Error(`duplicate graph value ${name}`);
    this.known.add(name);
    return name;
  }

  /** The finished model. */
  model(options: {
    graphName: string;
    doc: string;
    metadata: Record<string, string>;
    producerVersion: string;
  }): onnx.ModelProto {
    return onnx.ModelProto.create({
      irVersion: IR_VERSION,
      opsetImport: [{ domain: '', version: OPSET }],
      producerName: 'talking-heads',
      producerVersion: options.producerVersion,
      docString: options.doc,
      metadataProps: Object.entries(options.metadata).map(([key, value]) => ({ key, value })),
      graph: {
        name: options.graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    });
  }
}

/** A typed array's bytes, which are little-endian on the hosts we run on (checked above). */
function bytesOf(data: {
  buffer: ArrayBufferLike;
  byteOffset: number;
  byteLength: number;
}): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function valueInfo(io: GraphIo): onnx.IValueInfoProto {
  return {
    name: io.name,
    docString: io.doc,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: {
          dim: io.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })),
        },
      },
    },
  };
}

function attribute(name: string, value: Attribute): onnx.IAttributeProto {
  const { AttributeType } = onnx.AttributeProto;
  if (typeof value === 'string')
    return { name, type: AttributeType.STRING, s: new TextEncoder().encode(value) };
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new Error(`attribute ${name}: ${value} is not an integer`);
    return { name, type: AttributeType.INT, i: value };
  }
  if (Array.isArray(value)) return { name, type: AttributeType.INTS, ints: value };
  return { name, type: AttributeType.FLOAT, f: value.float };
}
