/**
 * n indices spread evenly over [0, count): the centres of n equal parts, so a clip's first and last
 * frames (often a cut or a fade) are avoided. Fewer than n when count < n.
 */
export function evenlySpaced(count: number, n: number): number[] {
  const k = Math.min(count, n);
  return Array.from({ length: k }, (_, i) => Math.floor(((i + 0.5) * count) / k));
}

/** A stable shard for a key (FNV-1a): the same video lands in the same shard on every run. */
export function shardOf(key: string, numShards: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % numShards;
}
