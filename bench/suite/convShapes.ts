import type { FlopCount } from '../../src/models/flopCount';
import type { ConvShape } from './results';

const FORWARD_CONVS = new Set(['Conv2D', 'FusedConv2D']);

/**
 * The distinct forward convs among profiled kernel calls, with how often each ran, in the order
 * they first ran. Every conv of this project's networks is stride 1 with 'same' padding (SNConv2D);
 * a call whose output size differs from its input's would break that and is an error, because
 * the benchmark re-creates each conv from its shape alone.
 */
export function distinctConvShapes(count: FlopCount): ConvShape[] {
  const shapes = new Map<string, ConvShape>();
  for (const call of count.calls) {
    if (!FORWARD_CONVS.has(call.kernel)) continue;
    const [batch, height, width, inChannels] = call.inputShapes[0] as number[];
    const [kernelHeight, kernelWidth, , outChannels] = call.inputShapes[1] as number[];
    const [, outHeight, outWidth] = call.outputShape;
    if (outHeight !== height || outWidth !== width)
      throw new Error(
        `${call.kernel} ${call.inputShapes[0]!.join('x')} -> ${call.outputShape.join('x')} is not a stride-1 'same' conv`,
      );
    const key = [batch, height, width, inChannels, kernelHeight, kernelWidth, outChannels].join(
      ',',
    );
    const seen = shapes.get(key);
    if (seen) seen.count++;
    else
      shapes.set(key, {
        batch: batch!,
        height: height!,
        width: width!,
        inChannels: inChannels!,
        kernelHeight: kernelHeight!,
        kernelWidth: kernelWidth!,
        outChannels: outChannels!,
        count: 1,
      });
  }
  return [...shapes.values()];
}

/** FLOPs of one call of the conv (each of its three passes costs the same), in GFLOP. */
export function convGflop(s: ConvShape): number {
  return (
    (2 *
      s.batch *
      s.height *
      s.width *
      s.outChannels *
      s.kernelHeight *
      s.kernelWidth *
      s.inChannels) /
    1e9
  );
}

/** "64x64x8 3x3 -> 16": input height, width and channels, kernel, output channels. */
export function convShapeLabel(s: ConvShape): string {
  return `${s.height}x${s.width}x${s.inChannels} ${s.kernelHeight}x${s.kernelWidth} -> ${s.outChannels}`;
}
