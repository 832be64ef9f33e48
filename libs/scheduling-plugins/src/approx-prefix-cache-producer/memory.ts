import { PrefixIndex, type PrefixIndexStats } from './prefix-index.js';

/** What {@link measureIndexMemory} found. */
export interface IndexMemoryReport extends PrefixIndexStats {
  /** Distinct blocks filled in. */
  readonly blocks: number;
  /** Endpoints holding each block. */
  readonly holders: number;
  /** Typed-array bytes per (block, endpoint) entry. */
  readonly typedArrayBytesPerEntry: number;
  /** Growth of V8 heap plus array buffers while filling, per entry; NaN when it could not be measured. */
  readonly measuredBytesPerEntry: number;
  /** Milliseconds spent filling. */
  readonly fillMs: number;
}

/** Options of {@link measureIndexMemory}. */
export interface IndexMemoryOptions {
  /** Endpoints holding each block (default 1); entries = blocks × holders. */
  readonly holders?: number;
  /** Blocks per simulated request (default 64, i.e. 4096 tokens at 64-token blocks). */
  readonly blocksPerRequest?: number;
}

/**
 * Fills a fresh index with `blocks` distinct block hashes spread over `endpoints` endpoints (in
 * requests of `blocksPerRequest` chained blocks, each request held by `holders` endpoints, capacity
 * large enough that nothing is evicted) and reports its size. Run node with `--expose-gc` for a
 * steadier `measuredBytesPerEntry`.
 */
export function measureIndexMemory(blocks: number, endpoints: number, options: IndexMemoryOptions = {}): IndexMemoryReport {
  const holders = Math.min(Math.max(1, options.holders ?? 1), endpoints);
  const perRequest = Math.max(1, options.blocksPerRequest ?? 64);
  const ids = Array.from({ length: endpoints }, (_, i) => `bench/endpoint-${i}`);
  // The most any endpoint receives, so nothing is evicted.
  const capacity = holders * Math.ceil(Math.ceil(blocks / perRequest) / endpoints) * perRequest;
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const before = process.memoryUsage();
  const index = new PrefixIndex();
  const halves = new Uint32Array(2 * perRequest);
  // xorshift32: deterministic, uniform bits, no allocation.
  let x = 0x9e3779b9;
  const next = (): number => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  const t0 = performance.now();
  let request = 0;
  for (let filled = 0; filled < blocks; request++) {
    const n = Math.min(perRequest, blocks - filled);
    for (let i = 0; i < 2 * n; i++) halves[i] = next();
    for (let h = 0; h < holders; h++) index.add(halves, n, ids[(request + h) % endpoints] as string, capacity, 0);
    filled += n;
  }
  const fillMs = performance.now() - t0;
  gc?.();
  const after = process.memoryUsage();
  const stats = index.stats();
  const grown = after.heapUsed + after.arrayBuffers - (before.heapUsed + before.arrayBuffers);
  return {
    ...stats,
    blocks,
    holders,
    typedArrayBytesPerEntry: stats.typedArrayBytes / Math.max(1, stats.entries),
    measuredBytesPerEntry: grown > 0 ? grown / Math.max(1, stats.entries) : Number.NaN,
    fillMs,
  };
}
