import { initBackend } from '../../src/backend/select';
import { PAPER_PRESET, TINY_PRESET, type ModelConfig } from '../../src/models/config';
import { Discriminator } from '../../src/models/discriminator';
import { Embedder } from '../../src/models/embedder';
import { Generator } from '../../src/models/generator';
import { weightSeed } from '../../src/models/layers/weightSeed';

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});

/** E, G and D with one seed, as train-meta makes them; the caller disposes them. */
function networks(config: ModelConfig, seed: number) {
  return {
    embedder: new Embedder(config, { seed }),
    generator: new Generator(config, { seed }),
    discriminator: new Discriminator(config, 2, { seed }),
  };
}

/** Every weight by its full path, with its first values and its shape. */
function starts(
  nets: ReturnType<typeof networks>,
): Map<string, { shape: number[]; head: number[] }> {
  const out = new Map<string, { shape: number[]; head: number[] }>();
  for (const [name, net] of Object.entries(nets))
    for (const [path, weight] of net.namedWeights(`${name}.`)) {
      const values = weight.read().dataSync();
      out.set(path, { shape: weight.shape as number[], head: Array.from(values.subarray(0, 64)) });
    }
  return out;
}

function dispose(nets: ReturnType<typeof networks>): void {
  Object.values(nets).forEach((n) => n.dispose());
}

test('a weight seed is a hash of the run seed and the path: stable, and different for another path or seed', () => {
  expect(weightSeed(0, 'generator.down4.conv2.kernel')).toBe(
    weightSeed(0, 'generator.down4.conv2.kernel'),
  );
  const seeds = new Set(
    ['generator.down4.conv2.kernel', 'discriminator.trunk.down6.conv1.kernel'].flatMap((p) =>
      [0, 1].map((s) => weightSeed(s, p)),
    ),
  );
  expect(seeds.size).toBe(4);
});

test("no two random weights of the paper preset's E, G and D start equal under one run seed", () => {
  const nets = networks(PAPER_PRESET, 7);
  try {
    const all = starts(nets);
    // Every weight of every network was seeded from its path.
    for (const [name, net] of Object.entries(nets))
      expect(new Set(net.pathSeededWeights(`${name}.`))).toEqual(
        new Set(net.namedWeights(`${name}.`).keys()),
      );
    const seen = new Map<string, string>();
    let random = 0;
    for (const [path, { shape, head }] of all) {
      // Constants (zeros, ones: biases, norms' gamma and beta, attention's gamma) are meant to agree.
      if (head.every((v) => v === head[0])) continue;
      random++;
      const key = `${shape.join('x')}:${head.join(',')}`;
      expect([path, seen.get(key)]).toEqual([path, undefined]);
      seen.set(key, path);
    }
    expect(random).toBeGreaterThan(150);
  } finally {
    dispose(nets);
  }
});

test('the same seed gives the same network; another seed another one', () => {
  const a = networks(TINY_PRESET, 1);
  const b = networks(TINY_PRESET, 1);
  const c = networks(TINY_PRESET, 2);
  try {
    const [sa, sb, sc] = [a, b, c].map(starts);
    expect(sb).toEqual(sa);
    const kernel = 'generator.down1.conv1.kernel';
    expect(sa.get(kernel)).toBeDefined();
    expect(sc.get(kernel)!.head).not.toEqual(sa.get(kernel)!.head);
  } finally {
    [a, b, c].forEach(dispose);
  }
});
