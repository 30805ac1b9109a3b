import * as tf from '@tensorflow/tfjs';
import type { OnnxGraphBuilder } from '../../formats/onnxGraph';
import type { KernelArgs } from '../kernels/kernelCalls';
import { outputFromFloats, readFloats } from '../kernels/hostData';
import type { NativeBackend } from './nativeBackend';
import { broadcastBinary, reduceAxes, type Reduction } from './broadcastLoop';
import { allFloat32, geometryKey, keyOf, nativeKernel, onCpu, poolInfo } from './nativeKernelArgs';
import { pointwiseGraph, poolGraph } from './opGraphs';

/**
 * Below this many output elements a pointwise call stays on the cpu kernel: a session run's fixed
 * cost is about what the cpu backend's loops take for that many elements.
 */
export const MIN_NATIVE_ELEMENTS = 1 << 14;

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

type Build = (b: OnnxGraphBuilder, inputs: string[]) => string;

/** Runs `build` over `infos` at these shapes, or hands the call to the cpu kernel. */
function runPointwise(
  kernelName: string,
  args: KernelArgs,
  infos: tf.TensorInfo[],
  outShape: number[],
  key: unknown,
  build: Build,
): tf.TensorInfo {
  if (!allFloat32(...infos) || sizeOf(outShape) < MIN_NATIVE_ELEMENTS)
    return onCpu(kernelName, args);
  const backend = args.backend as NativeBackend;
  const shapes = infos.map((t) => [...t.shape]);
  const values = backend.ops.run(
    kernelName + keyOf(shapes, key),
    () => pointwiseGraph(shapes, outShape, build),
    infos.map((t) => readFloats(backend, t)),
  );
  return outputFromFloats(backend, outShape, values);
}

/** The same binary ops in JS, for broadcasts too small for a session run. */
const BINARY_JS: Record<string, (x: number, y: number) => number> = {
  Add: (x, y) => x + y,
  Sub: (x, y) => x - y,
  Multiply: (x, y) => x * y,
  RealDiv: (x, y) => x / y,
  SquaredDifference: (x, y) => (x - y) * (x - y),
};

/** tfjs binary kernels (broadcasting as numpy, as ONNX does) and the ONNX nodes computing them. */
const BINARY: Record<string, Build> = {
  Add: (b, [x, y]) => b.node('Add', [x!, y!]),
  Sub: (b, [x, y]) => b.node('Sub', [x!, y!]),
  Multiply: (b, [x, y]) => b.node('Mul', [x!, y!]),
  RealDiv: (b, [x, y]) => b.node('Div', [x!, y!]),
  Maximum: (b, [x, y]) => b.node('Max', [x!, y!]),
  Minimum: (b, [x, y]) => b.node('Min', [x!, y!]),
  SquaredDifference: (b, [x, y]) => {
    const d = b.node('Sub', [x!, y!]);
    return b.node('Mul', [d, d]);
  },
};

function binary(kernelName: string, build: Build): tf.KernelConfig {
  return nativeKernel(kernelName, (args) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const outShape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const js = BINARY_JS[kernelName];
    if (
      js &&
      allFloat32(a, b) &&
      sizeOf(outShape) < MIN_NATIVE_ELEMENTS &&
      !tf.util.arraysEqual(a.shape, b.shape)
    ) {
      // The cpu kernel's broadcasting path converts every index to coordinates and back.
      const backend = args.backend as NativeBackend;
      const values = broadcastBinary(
        readFloats(backend, a),
        a.shape,
        readFloats(backend, b),
        b.shape,
        outShape,
        js,
      );
      return outputFromFloats(backend, outShape, values);
    }
    return runPointwise(kernelName, args, [a, b], outShape, null, build);
  });
}

/** tfjs unary kernels on float32 and their ONNX nodes. */
const UNARY: Record<string, Build> = {
  Relu: (b, [x]) => b.node('Relu', [x!]),
  Sqrt: (b, [x]) => b.node('Sqrt', [x!]),
  Rsqrt: (b, [x]) => b.node('Reciprocal', [b.node('Sqrt', [x!])]),
  Reciprocal: (b, [x]) => b.node('Reciprocal', [x!]),
  Square: (b, [x]) => b.node('Mul', [x!, x!]),
  Abs: (b, [x]) => b.node('Abs', [x!]),
  Neg: (b, [x]) => b.node('Neg', [x!]),
  Exp: (b, [x]) => b.node('Exp', [x!]),
  Log: (b, [x]) => b.node('Log', [x!]),
  Sigmoid: (b, [x]) => b.node('Sigmoid', [x!]),
  Tanh: (b, [x]) => b.node('Tanh', [x!]),
  Elu: (b, [x]) => b.node('Elu', [x!], { alpha: { float: 1 } }),
};

function unary(kernelName: string, build: Build): tf.KernelConfig {
  return nativeKernel(kernelName, (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    return runPointwise(kernelName, args, [x], [...x.shape], null, build);
  });
}

const leakyRelu = nativeKernel('LeakyRelu', (args) => {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { alpha } = args.attrs as unknown as tf.LeakyReluAttrs;
  return runPointwise('LeakyRelu', args, [x], [...x.shape], alpha, (b, [v]) =>
    b.node('LeakyRelu', [v!], { alpha: { float: alpha } }),
  );
});

const addN = nativeKernel('AddN', (args) => {
  const inputs = args.inputs as unknown as tf.TensorInfo[];
  const list = Array.isArray(inputs) ? inputs : Object.values(args.inputs as object);
  const infos = list as tf.TensorInfo[];
  return runPointwise('AddN', args, infos, [...infos[0]!.shape], infos.length, (b, vs) =>
    b.node('Sum', vs),
  );
});

const softmax = nativeKernel('Softmax', (args) => {
  const { logits } = args.inputs as { logits: tf.TensorInfo };
  const { dim } = args.attrs as unknown as tf.SoftmaxAttrs;
  const axis = dim < 0 ? dim + logits.shape.length : dim;
  return runPointwise('Softmax', args, [logits], [...logits.shape], axis, (b, [v]) =>
    b.node('Softmax', [v!], { axis }),
  );
});

/** Sum, Mean, Max and Min over axes; ONNX opset 17 takes ReduceSum's axes as an input. */
function reduction(
  kernelName: string,
  onnxOp: string,
  axisAttr: string,
  kind: Reduction,
): tf.KernelConfig {
  return nativeKernel(kernelName, (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const attrs = args.attrs as Record<string, unknown>;
    const keepDims = Boolean(attrs.keepDims);
    const axes = tf.util.parseAxisParam(attrs[axisAttr] as number | number[], x.shape);
    const outShape = x.shape.flatMap((d, i) => (axes.includes(i) ? (keepDims ? [1] : []) : [d]));
    if (!allFloat32(x)) return onCpu(kernelName, args);
    const backend = args.backend as NativeBackend;
    // The threshold is on the elements read: a full reduction has one output element.
    if (sizeOf(x.shape) < MIN_NATIVE_ELEMENTS)
      return outputFromFloats(
        backend,
        outShape,
        reduceAxes(readFloats(backend, x), x.shape, axes, kind),
      );
    const shape = [...x.shape];
    const build: Build = (b, [v]) =>
      onnxOp === 'ReduceSum'
        ? b.node(onnxOp, [v!, b.int64s('axes', axes)], { keepdims: 1 })
        : b.node(onnxOp, [v!], { axes, keepdims: 1 });
    // Reduced with keepdims, then read in tfjs's shape (the same values in the same order).
    const keptShape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    const values = backend.ops.run(
      kernelName + keyOf(shape, axes),
      () => pointwiseGraph([shape], keptShape, build),
      [readFloats(backend, x)],
    );
    return outputFromFloats(backend, outShape, values);
  });
}

const avgPool = nativeKernel('AvgPool', (args) => {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const info = poolInfo(args, x.shape);
  if (!allFloat32(x) || sizeOf(x.shape) < MIN_NATIVE_ELEMENTS) return onCpu('AvgPool', args);
  const backend = args.backend as NativeBackend;
  const values = backend.ops.run(
    'AvgPool' + geometryKey(info),
    () => poolGraph(info, 'AveragePool'),
    [readFloats(backend, x)],
  );
  return outputFromFloats(backend, [...info.outShape], values);
});

/**
 * ResizeBilinear as ONNX Resize (linear) on the NHWC tensor itself, sizes [N, h, w, C]; tfjs's
 * alignCorners and halfPixelCenters are ONNX's align_corners and half_pixel transforms.
 */
const resizeBilinear = nativeKernel('ResizeBilinear', (args) => {
  const { images } = args.inputs as { images: tf.TensorInfo };
  const { alignCorners, halfPixelCenters, size } = args.attrs as unknown as tf.ResizeBilinearAttrs;
  const [n, , , c] = images.shape;
  const outShape = [n!, size[0], size[1], c!];
  const transform = alignCorners ? 'align_corners' : halfPixelCenters ? 'half_pixel' : 'asymmetric';
  return runPointwise('ResizeBilinear', args, [images], outShape, [outShape, transform], (b, [v]) =>
    b.node('Resize', [v!, '', '', b.int64s('sizes', outShape)], {
      mode: 'linear',
      coordinate_transformation_mode: transform,
    }),
  );
});

export const POINTWISE_KERNELS: readonly tf.KernelConfig[] = [
  ...Object.entries(BINARY).map(([name, build]) => binary(name, build)),
  ...Object.entries(UNARY).map(([name, build]) => unary(name, build)),
  leakyRelu,
  addN,
  softmax,
  reduction('Sum', 'ReduceSum', 'axis', 'sum'),
  reduction('Mean', 'ReduceMean', 'axis', 'mean'),
  reduction('Max', 'ReduceMax', 'reductionIndices', 'max'),
  reduction('Min', 'ReduceMin', 'axis', 'min'),
  avgPool,
  resizeBilinear,
];
