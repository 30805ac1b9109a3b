import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/select';
import { adaptiveInstanceNorm, AdaIN } from '../../src/models/layers/adain';
import { InstanceNorm } from '../../src/models/layers/instanceNorm';
import { ResBlock } from '../../src/models/layers/resBlock';
import { ResBlockDown } from '../../src/models/layers/resBlockDown';
import { ResBlockUp } from '../../src/models/layers/resBlockUp';
import { SelfAttention } from '../../src/models/layers/selfAttention';
import { SNConv2D } from '../../src/models/layers/snConv2d';
import { SNDense } from '../../src/models/layers/snDense';
import { maxAbsDiff, seededTensor } from '../helpers/compare';

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});

/** Largest singular value of a row-major [rows, cols] matrix: power iteration on MᵀM in plain JS. */
function largestSingularValue(m: Float32Array, rows: number, cols: number): number {
  let v = new Float64Array(cols).fill(1 / Math.sqrt(cols));
  let sigma = 0;
  for (let it = 0; it < 1000; it++) {
    const mv = new Float64Array(rows);
    for (let r = 0; r < rows; r++)
      for (let c = 0; c < cols; c++) mv[r]! += m[r * cols + c]! * v[c]!;
    const next = new Float64Array(cols);
    for (let r = 0; r < rows; r++)
      for (let c = 0; c < cols; c++) next[c]! += m[r * cols + c]! * mv[r]!;
    const norm = Math.hypot(...next);
    sigma = Math.sqrt(norm);
    v = next.map((x) => x / norm);
  }
  return sigma;
}

describe('spectral normalisation', () => {
  test.each([
    [
      'conv 3x3, 8 -> 16',
      () => new SNConv2D({ filters: 16, kernelSize: 3, seed: 1 }),
      [1, 6, 6, 8],
      72,
    ],
    ['dense 40 -> 24', () => new SNDense({ units: 24, seed: 2 }), [2, 40], 40],
  ] as const)(
    '%s: sigma of the normalised kernel is within 2%% of 1 after 30 iterations',
    (_n, make, shape, fanIn) => {
      const layer = make();
      const x = seededTensor([...shape], 3);
      layer.build([...shape]);
      const raw = layer.effectiveKernel(false); // u still random: far from normalised
      for (let i = 0; i < 30; i++) tf.dispose(layer.call(x, { training: true }));
      const kernel = layer.effectiveKernel(false);
      const out = kernel.shape[kernel.shape.length - 1]!;
      const rawSigma = largestSingularValue(raw.dataSync() as Float32Array, fanIn, out);
      const sigma = largestSingularValue(kernel.dataSync() as Float32Array, fanIn, out);
      expect(Math.abs(sigma - 1)).toBeLessThan(0.02);
      expect(rawSigma).toBeGreaterThan(0); // the estimate moved from somewhere
      tf.dispose([x, raw, kernel]);
      layer.dispose();
    },
  );

  test('training calls update u; inference calls leave it and the output unchanged', () => {
    const layer = new SNConv2D({ filters: 4, kernelSize: 3, seed: 4 });
    const x = seededTensor([1, 5, 5, 3], 5);
    layer.build([1, 5, 5, 3]);
    const u = () => Array.from(layer.namedWeights().get('u')!.read().dataSync());
    const before = u();
    const a = layer.call(x, {});
    const b = layer.call(x, {});
    expect(u()).toEqual(before);
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    tf.dispose(layer.call(x, { training: true }));
    expect(u()).not.toEqual(before);
    expect(layer.trainableWeights.map((w) => w.originalName.split('/').pop())).toEqual([
      'kernel',
      'bias',
    ]);
    tf.dispose([x, a, b]);
    layer.dispose();
  });
});

describe('spectral normalisation at inference', () => {
  test('reuses W / sigma while W and u stay, and recomputes it when either changes', async () => {
    const layer = new SNConv2D({ filters: 4, kernelSize: 3, seed: 6 });
    layer.build([1, 5, 5, 3]);
    const a = layer.effectiveKernel(false);
    const again = await tf.profile(() => layer.effectiveKernel(false));
    const b = again.result as tf.Tensor;
    // No division, no power iteration: the kept W / sigma, as a clone the caller owns.
    expect(again.kernels.map((k) => k.name)).not.toContain('RealDiv');
    expect(maxAbsDiff(a.dataSync(), b.dataSync())).toBe(0);
    a.dispose();
    expect(b.isDisposed).toBe(false);
    const kernel = layer.namedWeights().get('kernel')!;
    kernel.write(tf.mul(kernel.read(), 2));
    const c = layer.effectiveKernel(false);
    // sigma doubles with W: W / sigma is unchanged.
    expect(maxAbsDiff(c.dataSync(), b.dataSync())).toBeLessThan(1e-5);
    tf.dispose(layer.call(seededTensor([1, 5, 5, 3], 7), { training: true }));
    const d = layer.effectiveKernel(false);
    // u moved: a new estimate of sigma.
    expect(maxAbsDiff(d.dataSync(), c.dataSync())).toBeGreaterThan(0);
    tf.dispose([b, c, d]);
    const count = tf.memory().numTensors;
    layer.dispose();
    // The kept kernel goes with the layer, with its weights.
    expect(tf.memory().numTensors).toBeLessThan(count - 3);
  });

  test('under a gradient tape, inference still sends gradient to W', () => {
    const layer = new SNConv2D({ filters: 4, kernelSize: 3, seed: 8 });
    const x = seededTensor([1, 5, 5, 3], 9);
    layer.build([1, 5, 5, 3]);
    tf.dispose(layer.call(x, {})); // the cache is filled
    const kernel = layer.namedWeights().get('kernel')!.read() as tf.Variable;
    const { grads } = tf.variableGrads(
      () => tf.sum(layer.call(x, {}) as tf.Tensor) as tf.Scalar,
      [kernel],
    );
    const g = grads[kernel.name]!;
    expect(tf.max(tf.abs(g)).dataSync()[0]).toBeGreaterThan(0);
    tf.dispose([x, g]);
    layer.dispose();
  });
});

describe('AdaIN', () => {
  test('output per-channel mean and std equal the given ones to 1e-4', () => {
    const x = tf.add(tf.mul(seededTensor([2, 8, 8, 4], 6), 3), 1.5) as tf.Tensor4D;
    const mean = tf.tensor2d([
      [0.5, -1, 2, 0],
      [1, 1, -3, 0.25],
    ]);
    const std = tf.tensor2d([
      [1, 0.5, 2, 3],
      [0.1, 1, 1.5, 0.7],
    ]);
    const out = adaptiveInstanceNorm(x, mean, std);
    const moments = tf.moments(out, [1, 2]);
    const gotMean = moments.mean.arraySync() as number[][];
    const gotStd = tf.sqrt(moments.variance).arraySync() as number[][];
    const wantMean = mean.arraySync();
    const wantStd = std.arraySync();
    for (let b = 0; b < 2; b++)
      for (let c = 0; c < 4; c++) {
        expect(Math.abs(gotMean[b]![c]! - wantMean[b]![c]!)).toBeLessThan(1e-4);
        expect(Math.abs(gotStd[b]![c]! - wantStd[b]![c]!)).toBeLessThan(1e-4);
      }
  });

  test('a constant input channel gives finite values and finite gradients', () => {
    const x = tf.concat(
      [tf.fill([1, 4, 4, 1], 0.7), seededTensor([1, 4, 4, 2], 7)],
      3,
    ) as tf.Tensor4D;
    const mean = tf.tensor2d([[0.1, 0.2, 0.3]]);
    const std = tf.tensor2d([[1, 2, 3]]);
    const layer = new AdaIN({});
    const f = (a: tf.Tensor, m: tf.Tensor, s: tf.Tensor) =>
      (layer.call([a, m, s]) as tf.Tensor).square().sum();
    const value = f(x, mean, std);
    const grads = tf.grads(f)([x, mean, std]);
    expect(Number.isFinite(value.dataSync()[0])).toBe(true);
    for (const g of grads) expect(tf.all(tf.isFinite(g)).dataSync()[0]).toBe(1);
    // The constant channel comes out as exactly its target mean.
    const out = layer.call([x, mean, std]) as tf.Tensor;
    const channel0 = tf.slice(out, [0, 0, 0, 0], [1, 4, 4, 1]).dataSync();
    for (const v of channel0) expect(Math.abs(v - 0.1)).toBeLessThan(1e-4);
  });
});

test('instance norm: per-channel statistics are its gamma and beta', () => {
  const layer = new InstanceNorm({});
  const x = tf.mul(seededTensor([2, 6, 6, 3], 8), 4);
  layer.build([2, 6, 6, 3]);
  const weights = layer.namedWeights();
  weights.get('gamma')!.write(tf.tensor1d([2, 0.5, 1]));
  weights.get('beta')!.write(tf.tensor1d([1, -1, 0]));
  const { mean, variance } = tf.moments(layer.call(x), [1, 2]);
  const m = mean.arraySync() as number[][];
  const s = tf.sqrt(variance).arraySync() as number[][];
  for (const b of [0, 1]) {
    [1, -1, 0].forEach((want, c) => expect(m[b]![c]!).toBeCloseTo(want, 4));
    [2, 0.5, 1].forEach((want, c) => expect(s[b]![c]!).toBeCloseTo(want, 3));
  }
});

describe('self-attention', () => {
  test('is the identity at initialisation (gamma = 0)', () => {
    const layer = new SelfAttention({ seed: 9 });
    const x = seededTensor([2, 4, 4, 16], 10);
    layer.build([2, 4, 4, 16]);
    expect(Array.from(layer.call(x, {}).dataSync())).toEqual(Array.from(x.dataSync()));
  });

  test('matches a hand-written SAGAN attention in plain JS when gamma = 1', () => {
    const [b, hgt, wid, c] = [2, 3, 4, 16];
    const layer = new SelfAttention({ seed: 11 });
    const x = seededTensor([b, hgt, wid, c], 12);
    layer.build([b, hgt, wid, c]);
    layer.gamma.write(tf.tensor1d([1]));
    const got = layer.call(x, {}).dataSync();

    const conv = (l: SNConv2D) => ({
      w: l.effectiveKernel().dataSync(),
      b: l.namedWeights().get('bias')?.read().dataSync() ?? new Float32Array(l.filters),
      out: l.filters,
    });
    const [F, G, H] = [conv(layer.f), conv(layer.g), conv(layer.h)];
    const xs = x.dataSync();
    const n = hgt * wid;
    const project = (p: typeof F, s: number, i: number) =>
      Array.from({ length: p.out }, (_, k) => {
        let sum = p.b[k]!;
        for (let ch = 0; ch < c; ch++) sum += xs[(s * n + i) * c + ch]! * p.w[ch * p.out + k]!;
        return sum;
      });
    for (let s = 0; s < b; s++) {
      const f = Array.from({ length: n }, (_, i) => project(F, s, i));
      const g = Array.from({ length: n }, (_, i) => project(G, s, i));
      const h = Array.from({ length: n }, (_, i) => project(H, s, i));
      for (let i = 0; i < n; i++) {
        const logits = g.map((gj) => gj.reduce((acc, v, k) => acc + v * f[i]![k]!, 0));
        const top = Math.max(...logits);
        const weights = logits.map((l) => Math.exp(l - top));
        const total = weights.reduce((p, q) => p + q, 0);
        for (let ch = 0; ch < c; ch++) {
          const attended = weights.reduce((acc, wgt, j) => acc + (wgt / total) * h[j]![ch]!, 0);
          const want = attended + xs[(s * n + i) * c + ch]!;
          expect(Math.abs(got[(s * n + i) * c + ch]! - want)).toBeLessThan(1e-4);
        }
      }
    }
  });
});

test('residual blocks produce the documented shapes', () => {
  const x = seededTensor([2, 8, 8, 6], 13);
  const down = new ResBlockDown({ filters: 10, kernelSize: 9, leakySlope: 0.2, seed: 1 });
  down.build([2, 8, 8, 6]);
  expect(down.call(x, {}).shape).toEqual([2, 4, 4, 10]);

  const psiRes = seededTensor([2, ResBlock.adainParamCount(6)], 14);
  const res = new ResBlock({ leakySlope: 0.2, seed: 2 });
  res.build([
    [2, 8, 8, 6],
    [2, 24],
  ]);
  expect(res.call([x, psiRes], {}).shape).toEqual([2, 8, 8, 6]);

  const psiUp = seededTensor([2, ResBlockUp.adainParamCount(6, 4)], 15);
  for (const upsampling of ['bilinear', 'nearest'] as const) {
    const up = new ResBlockUp({ filters: 4, leakySlope: 0.2, upsampling, seed: 3 });
    up.build([
      [2, 8, 8, 6],
      [2, 20],
    ]);
    expect(up.call([x, psiUp], {}).shape).toEqual([2, 16, 16, 4]);
  }
});
