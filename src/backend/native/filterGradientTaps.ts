import * as tf from '@tensorflow/tfjs';
import type { BufferPool } from './bufferPool';
import type { OpSessions } from './opSessions';
import { conv2dBackpropFilterTapsGraph } from './opGraphs';

/**
 * Whether a conv's filter gradient runs here: stride 1, undilated. It runs as one GEMM per
 * filter tap, over views of x and dy with no patch matrix. x goes onto its padded grid
 * [N, Hp, Wp, C] and dy onto the same grid (its [oh, ow] in the top-left corner, zeros around),
 * both flattened to rows of channels. Then for tap (i, j), dW[i][j] = Xᵀ·DY over rows, with X
 * starting i·Wp + j rows into the padded x: the row pitch is the same on both grids, and the
 * rows where that offset wraps into the padding or the next image meet dy's zeros.
 *
 * The rows go in blocks of `blockBytes` of x and dy, each a run adding to the last's result, so
 * that a block stays in cache across its kh·kw GEMMs, where one run over all rows would not. At
 * E's stride-1 shapes this beats the transposed conv that strided convs use (convKernels.ts).
 */
export function tapGemmApplies(info: tf.backend_util.Conv2DInfo): boolean {
  const p = info.padInfo;
  return (
    info.strideHeight === 1 &&
    info.strideWidth === 1 &&
    info.dilationHeight === 1 &&
    info.dilationWidth === 1 &&
    info.outHeight === info.inHeight + p.top + p.bottom - info.filterHeight + 1 &&
    info.outWidth === info.inWidth + p.left + p.right - info.filterWidth + 1
  );
}

/** Best at E's 64-channel K = 8 shapes: smaller blocks add runs, larger ones leave the cache. */
export const DEFAULT_FILTER_GRADIENT_BLOCK_BYTES = 16 * 2 ** 20;

/**
 * Writes `values` ([n, h, w, ch]) into `grid` ([n, hp, wp, ch] rows, then zeros to its end)
 * at (top, left), zeros everywhere else. `grid` may hold stale values.
 */
export function placeOnGrid(
  values: Float32Array,
  shape: [number, number, number, number],
  grid: Float32Array,
  at: { top: number; left: number; height: number; width: number },
): void {
  const [n, h, w, ch] = shape;
  const { top, left, height: hp, width: wp } = at;
  const rowLength = w * ch;
  let out = 0;
  for (let b = 0; b < n; b++) {
    grid.fill(0, out, out + top * wp * ch);
    out += top * wp * ch;
    for (let y = 0; y < h; y++) {
      const start = (b * h + y) * rowLength;
      grid.fill(0, out, out + left * ch);
      grid.set(values.subarray(start, start + rowLength), out + left * ch);
      grid.fill(0, out + left * ch + rowLength, out + wp * ch);
      out += wp * ch;
    }
    const below = (hp - top - h) * wp * ch;
    grid.fill(0, out, out + below);
    out += below;
  }
  grid.fill(0, out);
}

/** The blocking of a tap-GEMM filter gradient: equal blocks of rows, padded with zero rows. */
export function tapBlocks(
  info: tf.backend_util.Conv2DInfo,
  blockBytes: number,
): {
  /** The padded grid's height and width, and its rows over the batch. */
  hp: number;
  wp: number;
  gridRows: number;
  blockRows: number;
  blocks: number;
  maxOffset: number;
} {
  const p = info.padInfo;
  const hp = info.inHeight + p.top + p.bottom;
  const wp = info.inWidth + p.left + p.right;
  const gridRows = info.batchSize * hp * wp;
  const maxOffset = (info.filterHeight - 1) * wp + info.filterWidth - 1;
  // dy's rows past gridRows - maxOffset are all zero (its grid's bottom and right margins).
  const rows = gridRows - maxOffset;
  const perRow = (info.inChannels + info.outChannels) * 4;
  const blocks = Math.max(1, Math.ceil((rows * perRow) / blockBytes));
  return { hp, wp, gridRows, blockRows: Math.ceil(rows / blocks), blocks, maxOffset };
}

/** Conv2DBackpropFilter by tap GEMMs (see tapGemmApplies); returns the HWIO gradient. */
export function filterGradientByTaps(
  ops: OpSessions,
  pool: BufferPool,
  info: tf.backend_util.Conv2DInfo,
  x: Float32Array,
  dy: Float32Array,
  blockBytes: number,
): Float32Array {
  const p = info.padInfo;
  const { filterHeight: kh, filterWidth: kw, inChannels: c, outChannels: o } = info;
  const { hp, wp, gridRows, blockRows, blocks, maxOffset } = tapBlocks(info, blockBytes);
  const dyRows = blocks * blockRows;
  const xGrid = pool.take((dyRows + maxOffset) * c);
  const dyGrid = pool.take(Math.max(dyRows, gridRows) * o);
  const n = info.batchSize;
  placeOnGrid(x, [n, info.inHeight, info.inWidth, c], xGrid, {
    top: p.top,
    left: p.left,
    height: hp,
    width: wp,
  });
  placeOnGrid(dy, [n, info.outHeight, info.outWidth, o], dyGrid, {
    top: 0,
    left: 0,
    height: hp,
    width: wp,
  });
  const key = `Conv2DBackpropFilter[taps ${kh}x${kw} ${c}->${o} rows ${blockRows}]`;
  const build = () => conv2dBackpropFilterTapsGraph(kh * kw, blockRows, c, o);
  let sum = pool.take(kh * kw * c * o).fill(0);
  for (let block = 0; block < blocks; block++) {
    const first = block * blockRows;
    const feeds: Float32Array[] = [];
    for (let i = 0; i < kh; i++)
      for (let j = 0; j < kw; j++) {
        const from = first + i * wp + j;
        feeds.push(xGrid.subarray(from * c, (from + blockRows) * c));
      }
    feeds.push(dyGrid.subarray(first * o, (first + blockRows) * o), sum);
    const next = ops.run(key, build, feeds);
    pool.give(sum);
    sum = next;
  }
  pool.give(xGrid);
  pool.give(dyGrid);
  return sum;
}
