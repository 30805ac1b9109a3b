// Peak-memory probe of the paper meta-learning step on native (VGG L_CNT).
// Usage: nice -n 19 env GLIBC_TUNABLES=... npx tsx scratch/memStep.ts [steps] [--no-sample]
import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/select';
import { nativeBackendInstance } from '../src/backend/native/nativeBackend';
import type { EpisodeBatch } from '../src/data/episodes/sampler';
import { disposeBatch } from '../src/data/episodes/sampler';
import { Discriminator } from '../src/models/discriminator';
import { Embedder } from '../src/models/embedder';
import { Generator } from '../src/models/generator';
import { parseTrainConfig } from '../src/train/config';
import { MetaLearner } from '../src/train/metaStep';
import { adamFor, contentTermsFor } from '../src/train/runParts';
import { randomImages } from '../bench/suite/cases/personGenerator';
import { writeRandomVggWeights } from '../bench/suite/cases/randomVggWeights';

const STEPS = Number(process.argv[2] ?? 2);
const SAMPLE = !process.argv.includes('--no-sample');
const GB = 1e9;
const VIDEOS = 16;

function statusKb(field: string): number {
  const m = new RegExp(`${field}:\\s+(\\d+)`).exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) : NaN;
}
function rssNow(): number {
  const statm = fs.readFileSync('/proc/self/statm', 'utf8').split(' ');
  return Number(statm[1]) * 4096;
}

type Sample = {
  phase: string;
  rss: number;
  tfBytes: number;
  tensors: number;
  pool: number;
  arrayBuffers: number;
  heap: number;
  sessions: number;
  baked: number;
  model: number;
  kernel: string;
};
let phase = 'build';
let peakRss: Sample | undefined;
let peakTf: Sample | undefined;
let count = 0;
const TRACE = process.argv.includes('--trace');
let traceMax = 0;

function sample(kernel = ''): Sample {
  const b = nativeBackendInstance();
  const mu = process.memoryUsage();
  const mem = tf.memory();
  return {
    phase,
    rss: rssNow(),
    tfBytes: mem.numBytes,
    tensors: mem.numTensors,
    pool: b?.pool.bytes ?? 0,
    arrayBuffers: mu.arrayBuffers,
    heap: mu.heapUsed,
    sessions: b?.ops.size ?? 0,
    model: (b?.ops as unknown as { modelBytes?: number })?.modelBytes ?? 0,
    baked: b ? (b as unknown as { bakedSessions: Map<unknown, string[]> }).bakedSessions.size : 0,
    kernel,
  };
}
const fmt = (s: Sample) =>
  `${s.phase.padEnd(14)} rss ${(s.rss / GB).toFixed(2)} tf ${(s.tfBytes / GB).toFixed(2)} (${s.tensors}) pool ${(s.pool / GB).toFixed(2)} ab ${(s.arrayBuffers / GB).toFixed(2)} heap ${(s.heap / GB).toFixed(2)} rss-ab-heap ${((s.rss - s.arrayBuffers - s.heap) / GB).toFixed(2)} sess ${s.sessions} baked ${s.baked} model ${(s.model / 1e6).toFixed(0)}MB ${s.kernel}`;

function report(label: string): void {
  const s = sample();
  s.phase = label;
  console.log(
    `${fmt(s)} | maxRSS ${((process.resourceUsage().maxRSS * 1024) / GB).toFixed(2)} VmHWM ${((statusKb('VmHWM') * 1024) / GB).toFixed(2)}`,
  );
}

function instrument(): void {
  const engine = tf.engine() as unknown as {
    runKernelFunc: (...a: unknown[]) => unknown;
  };
  const run = engine.runKernelFunc.bind(engine);
  engine.runKernelFunc = (...args: unknown[]) => {
    const out = run(...args);
    if (SAMPLE && count++ % 1 === 0) {
      const name = (args[0] as { kernelName?: string }).kernelName ?? '';
      const s = sample(name);
      if (!peakRss || s.rss > peakRss.rss) peakRss = s;
      if (TRACE && s.rss > traceMax + 128e6) {
        traceMax = s.rss;
        console.log(`      + ${fmt(s)}`);
      }
      if (!peakTf || s.tfBytes > peakTf.tfBytes) peakTf = s;
    }
    return out;
  };
  const e = engine as unknown as { startTape(): void; endTape(): void };
  const startTape = e.startTape.bind(e);
  const endTape = e.endTape.bind(e);
  let gradCall = 0;
  e.startTape = () => {
    phase = `fwd${gradCall}`;
    startTape();
  };
  e.endTape = () => {
    if (process.argv.includes('--tape') && (gradCall === 0 || gradCall === 4)) tapeBreakdown();
    endTape();
    const s = sample('end of forward');
    console.log(`   ${fmt(s)}`);
    phase = `bwd${gradCall++}`;
  };
}

type Node = { id: number; kernelName: string; saved?: tf.Tensor[]; outputs: tf.Tensor[] };
const labels: { from: number; label: string }[] = [];
function tapeLen(): number {
  const st = (tf.engine() as unknown as { state: { activeTape: Node[] | null } }).state;
  return st.activeTape?.length ?? 0;
}
function label<T extends object>(obj: T, method: keyof T, name: (i: number) => string): void {
  const orig = (obj[method] as unknown as (...a: unknown[]) => unknown).bind(obj);
  let calls = 0;
  (obj as Record<string, unknown>)[method as string] = (...a: unknown[]) => {
    labels.push({ from: tapeLen(), label: name(calls++) });
    const out = orig(...a);
    labels.push({ from: tapeLen(), label: 'other' });
    return out;
  };
}
function tapeBreakdown(): void {
  const tape = (tf.engine() as unknown as { state: { activeTape: Node[] } }).state.activeTape;
  const seen = new Set<object>();
  const byLabel = new Map<string, number>();
  const byKernel = new Map<string, number>();
  let li = 0;
  let current = 'other';
  tape.forEach((node, i) => {
    while (li < labels.length && labels[li]!.from <= i) current = labels[li++]!.label;
    for (const t of node.saved ?? []) {
      if (t.isDisposed || seen.has(t.dataId)) continue;
      seen.add(t.dataId);
      const bytes = t.size * 4;
      byLabel.set(current, (byLabel.get(current) ?? 0) + bytes);
      const k = `${current}:${node.kernelName}`;
      byKernel.set(k, (byKernel.get(k) ?? 0) + bytes);
    }
  });
  const show = (m: Map<string, number>, n: number) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, v]) => `${k} ${(v / 1e6).toFixed(0)}MB`)
      .join(', ');
  const SHAPE_ONLY = new Set(['Add', 'Sub', 'Reshape', 'Sum', 'Mean', 'Concat', 'Slice', 'PadV2']);
  const savers = new Map<object, { bytes: number; kernels: Set<string> }>();
  for (const node of tape)
    for (const t of node.saved ?? []) {
      if (t.isDisposed) continue;
      const e = savers.get(t.dataId) ?? { bytes: t.size * 4, kernels: new Set<string>() };
      e.kernels.add(node.kernelName);
      savers.set(t.dataId, e);
    }
  let shapeOnly = 0;
  let avgPoolOnly = 0;
  const shapeOnlyBy = new Map<string, number>();
  for (const e of savers.values()) {
    const ks = [...e.kernels];
    if (ks.every((k) => SHAPE_ONLY.has(k))) {
      shapeOnly += e.bytes;
      shapeOnlyBy.set(ks.join('+'), (shapeOnlyBy.get(ks.join('+')) ?? 0) + e.bytes);
    }
    if (ks.every((k) => SHAPE_ONLY.has(k) || k === 'AvgPool')) avgPoolOnly += e.bytes;
  }
  console.log(`   held only by shape-only saves: ${(shapeOnly / 1e9).toFixed(2)} GB (${show(shapeOnlyBy, 10)}); with AvgPool: ${(avgPoolOnly / 1e9).toFixed(2)} GB`);
  const total = [...byLabel.values()].reduce((a, b) => a + b, 0);
  console.log(`   saved on tape: ${(total / 1e9).toFixed(2)} GB in ${tape.length} nodes; by part: ${show(byLabel, 20)}`);
  console.log(`   by kernel: ${show(byKernel, 30)}`);
  labels.length = 0;
}

const events: string[] = [];
function poolTrace(): void {
  const pool = nativeBackendInstance()!.pool as unknown as {
    take(n: number): Float32Array;
    give(a: Float32Array): void;
    issued: WeakSet<ArrayBufferLike>;
  };
  const take = pool.take.bind(pool);
  const give = pool.give.bind(pool);
  let lastPhase = '';
  pool.take = (n) => {
    if (phase !== lastPhase) events.push(`p ${(lastPhase = phase)}`);
    events.push(`t ${n}`);
    return take(n);
  };
  pool.give = (a) => {
    if (a.length > 0 && pool.issued.has(a.buffer)) events.push(`g ${a.length}`);
    give(a);
  };
  process.on('exit', () => fs.writeFileSync('scratch/pooltrace.txt', events.join('\n')));
}

function smapsSummary(): void {
  const text = fs.readFileSync('/proc/self/smaps', 'utf8');
  const groups = new Map<string, { n: number; rss: number; size: number }>();
  let cur: { name: string; size: number } | undefined;
  for (const line of text.split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      const size = parseInt(head[2]!, 16) - parseInt(head[1]!, 16);
      const name = head[3] || (size === 64 * 2 ** 20 || size === 128 * 2 ** 20 ? 'anon-64M/128M(arena?)' : size > 64 * 2 ** 20 ? 'anon>64M' : size >= 2 ** 20 ? 'anon-1M..64M' : 'anon<1M');
      cur = { name: name.includes('/') && !name.startsWith('anon') ? (name.includes('.so') || name.includes('.node') ? 'libs' : 'files') : name, size };
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss && cur) {
      const g = groups.get(cur.name) ?? { n: 0, rss: 0, size: 0 };
      g.n++;
      g.rss += Number(rss[1]) * 1024;
      g.size += cur.size;
      groups.set(cur.name, g);
    }
  }
  console.log('smaps: ' + [...groups.entries()].sort((a, b) => b[1].rss - a[1].rss).slice(0, 8).map(([k, g]) => `${k} n=${g.n} rss ${(g.rss / 1e9).toFixed(2)}GB size ${(g.size / 1e9).toFixed(2)}GB`).join('; '));
}

async function main(): Promise<void> {
  await initBackend({ backend: 'native' });
  report('init');
  instrument();
  const vgg = await writeRandomVggWeights();
  const config = parseTrainConfig(
    {
      model: { preset: 'paper' },
      data: { k: 8 },
      train: { batchSize: 1, dStepsPerGStep: 2 },
      loss: { vgg19Weights: vgg.vgg19Weights, vggfaceWeights: vgg.vggfaceWeights },
    },
    'benchmark',
  );
  const { train } = config;
  const networks = {
    embedder: new Embedder(config.model, { seed: 1 }),
    generator: new Generator(config.model, { seed: 2 }),
    discriminator: new Discriminator(config.model, VIDEOS, { seed: 3 }),
  };
  report('networks');
  const contentTerms = await contentTermsFor(config.loss);
  report('vgg');
  const learner = new MetaLearner(networks, {
    embedderGenerator: adamFor(train, train.lrEmbedderGenerator),
    discriminator: adamFor(train, train.lrDiscriminator),
    dStepsPerGStep: train.dStepsPerGStep,
    lossWeights: config.loss,
    contentTerms,
  });
  const k = 8;
  const size = config.model.imageSize;
  const batch: EpisodeBatch = {
    plans: [{ videoIndex: 0, key: 'video0', frames: [...Array(k + 1).keys()], flipped: false }],
    videoIndex: tf.tensor1d([0], 'int32'),
    frames: randomImages([1, k, size, size, 3], 1) as tf.Tensor5D,
    frameLandmarks: randomImages([1, k, size, size, 3], 2) as tf.Tensor5D,
    target: randomImages([1, size, size, 3], 3) as tf.Tensor4D,
    targetLandmarks: randomImages([1, size, size, 3], 4) as tf.Tensor4D,
  };
  report('built');
  if (process.argv.includes('--pooltrace')) poolTrace();
  label(networks.embedder, 'embedVideo', () => 'E');
  label(networks.generator, 'generate', () => 'G');
  label(networks.discriminator, 'discriminate', (i) => (i % 3 === 0 ? 'D-real' : i % 3 === 1 ? 'D-fake' : 'D-both'));
  contentTerms.forEach((t) => label(t.backbone, 'features', (i) => `${t.backbone.name}-${i % 2 ? 'fake' : 'real'}`));
  for (let i = 0; i < STEPS; i++) {
    peakRss = peakTf = undefined;
    const r = learner.step(batch);
    report(`step${i}`);
    console.log(`   losses ${JSON.stringify(r.losses)} norms ${JSON.stringify(r.gradientNorms)}`);
    if (peakRss) console.log(`   peak rss in step: ${fmt(peakRss)}`);
    if (peakTf) console.log(`   peak tf in step:  ${fmt(peakTf)}`);
  }
  const b = nativeBackendInstance()!;
  const free = (b.pool as unknown as { free: Map<number, Float32Array[]> }).free;
  const sizes = [...free.entries()]
    .map(([len, l]) => [len * 4 * l.length, len, l.length] as const)
    .sort((a, c) => c[0] - a[0])
    .slice(0, 12)
    .map(([bytes, len, n]) => `${(bytes / 1e6).toFixed(0)}MB=${n}x${len}`);
  console.log(`pool top: ${sizes.join(' ')}; hits ${b.pool.hits} misses ${b.pool.misses}`);
  console.log(`sessions created ${b.ops.created}; pool peak ${((b.pool as unknown as { peakBytes?: number }).peakBytes ?? 0) / 1e9} GB; faults ${process.resourceUsage().minorPageFault}`);
  smapsSummary();
  disposeBatch(batch);
  learner.dispose();
  contentTerms.forEach((t) => t.backbone.dispose());
  Object.values(networks).forEach((n) => n.dispose());
  vgg.remove();
  report('disposed');
  process.exit(0);
}

void main();
