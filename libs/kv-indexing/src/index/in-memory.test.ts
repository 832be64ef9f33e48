import { describe, expect, it } from 'vitest';
import { InMemoryKvBlockIndex } from './in-memory.js';
import { describeKvBlockIndex } from './test-support/conformance.js';
import type { PodEntry } from './types.js';

describeKvBlockIndex('InMemoryKvBlockIndex', async () => new InMemoryKvBlockIndex(), {
  createBounded: async ({ maxBlocks, maxPodsPerBlock }) => new InMemoryKvBlockIndex({ maxBlocks, maxPodsPerBlock }),
});

const A: PodEntry = { pod: '10.0.0.1:8000', tier: 'gpu' };
const B: PodEntry = { pod: '10.0.0.2:8000', tier: 'gpu' };

/** Keys 1..count as a chain the way a prompt's blocks are. */
const keys = (from: number, count: number) => Array.from({ length: count }, (_, i) => BigInt(from + i));

describe('InMemoryKvBlockIndex', () => {
  it.each([
    ['maxBlocks', { maxBlocks: 0 }],
    ['maxPodsPerBlock', { maxPodsPerBlock: 1.5 }],
    ['maxEngineKeys', { maxEngineKeys: -1 }],
  ])('rejects a bad %s', (name, options) => {
    expect(() => new InMemoryKvBlockIndex(options)).toThrow(new RegExp(name));
  });

  it('bounds engine keys, dropping one not used since the hand last passed', async () => {
    const index = new InMemoryKvBlockIndex({ maxEngineKeys: 2 });
    await index.add([11n, 12n], [1n, 2n], [A]);
    // The hand clears both used bits, then drops the first it comes back to.
    await index.add([13n], [3n], [A]);
    expect(await index.getRequestKey(11n)).toBeNull();
    expect(await index.getRequestKey(12n)).toBe(2n);
    expect(await index.getRequestKey(13n)).toBe(3n);
    // The hand clears 12 and 13 (both used since), comes back to 12 first and drops it.
    await index.add([14n], [4n], [A]);
    expect(index.memoryStats().engineKeys).toBe(2);
    expect(await index.getRequestKey(12n)).toBeNull();
    expect(await index.getRequestKey(13n)).toBe(3n);
    expect(await index.getRequestKey(14n)).toBe(4n);
    // Blocks stay: the mapping bound only limits which engine keys resolve.
    expect(await index.lookup([1n, 2n, 3n, 4n])).toHaveLength(4);
  });

  it('clear(pod) lets adds that arrive while it sweeps stay', async () => {
    const index = new InMemoryKvBlockIndex();
    // More blocks than one sweep chunk, so the sweep yields to the event loop at least once.
    await index.add(null, keys(1, 70_000), [A, B]);
    const cleared = index.clear(A.pod);
    await index.add(null, [1n, 69_999n], [A]);
    await cleared;
    expect(await index.lookup([1n], new Set([A.pod]))).toEqual([[A]]);
    expect(await index.lookup([69_999n], new Set([A.pod]))).toEqual([[A]]);
    expect(await index.lookup([2n], new Set([A.pod]))).toEqual([]);
    expect(await index.stats()).toEqual({ blocks: 70_000, entries: 70_002 });
  });

  it('reuses the interned slots of endpoints that are gone', async () => {
    const index = new InMemoryKvBlockIndex();
    for (let i = 0; i < 50; i++) {
      const pod = { pod: `10.0.1.${i}:8000`, tier: 'gpu' };
      await index.add(null, [1n], [pod]);
      await index.evict(1n, 'request', [pod]);
    }
    expect(index.memoryStats()).toMatchObject({ blocks: 0, entries: 0, endpointTiers: 0 });
  });

  it('returns the same frozen entry objects for every lookup', async () => {
    const index = new InMemoryKvBlockIndex();
    await index.add(null, [1n, 2n], [A]);
    const [[first], [second]] = (await index.lookup([1n, 2n])) as [[PodEntry], [PodEntry]];
    expect(first).toBe(second);
    expect(Object.isFrozen(first)).toBe(true);
  });

  it('survives churn past its capacity with the table consistent', async () => {
    const index = new InMemoryKvBlockIndex({ maxBlocks: 1000 });
    for (let round = 0; round < 20; round++) await index.add(keys(round * 2000 + 1, 2000), keys(round * 700 + 1, 700), [A]);
    const stats = index.memoryStats();
    expect(stats.blocks).toBe(1000);
    // The last 1000 request keys added are exactly those still held.
    const last = keys(19 * 700 + 1, 700);
    expect(await index.lookup(last)).toHaveLength(700);
    expect(await index.lookup(keys(18 * 700 + 401, 300))).toHaveLength(300);
    expect(await index.lookup(keys(18 * 700 + 400, 1))).toEqual([]);
  });

  it.each([
    [1, 1],
    [2, 1],
    [4, 1],
    [1, 0],
  ])('stays within 64 bytes per entry at %i endpoint(s) per block, %i engine key(s) per block', async (endpoints, engineKeysPerBlock) => {
    const blocks = 200_000;
    const index = new InMemoryKvBlockIndex();
    const pods = Array.from({ length: endpoints }, (_, i) => ({ pod: `10.0.2.${i}:8000`, tier: 'gpu' }));
    for (let start = 1; start <= blocks; start += 1000) {
      const requestKeys = keys(start, 1000);
      await index.add(engineKeysPerBlock ? requestKeys.map((k) => k + 10_000_000n) : null, requestKeys, pods);
    }
    const stats = index.memoryStats();
    expect(stats.entries).toBe(blocks * endpoints);
    expect(stats.bytes / stats.entries).toBeLessThanOrEqual(64);
  });
});

/** A plain-Map model of the index's semantics, to check the typed-array one against. */
class ModelIndex {
  // Block key → entries, most recently added first; Map order is LRU order (oldest first).
  readonly blocks = new Map<bigint, { pod: string; tier: string; speculative: boolean }[]>();
  readonly engine = new Map<bigint, bigint[]>();
  constructor(
    readonly maxBlocks: number,
    readonly maxPods: number,
  ) {}

  #use(key: bigint) {
    const entries = this.blocks.get(key);
    if (entries) {
      this.blocks.delete(key);
      this.blocks.set(key, entries);
    }
    return entries;
  }

  add(engineKeys: bigint[] | null, requestKeys: bigint[], entries: PodEntry[]) {
    for (const key of requestKeys) {
      let block = this.#use(key);
      if (!block) {
        if (this.blocks.size >= this.maxBlocks) this.blocks.delete(this.blocks.keys().next().value as bigint);
        block = [];
        this.blocks.set(key, block);
      }
      for (const { pod, tier, speculative } of entries) {
        const at = block.findIndex((e) => e.pod === pod && e.tier === tier);
        if (at >= 0) {
          const [found] = block.splice(at, 1) as [{ pod: string; tier: string; speculative: boolean }];
          if (speculative !== true) found.speculative = false;
          block.unshift(found);
        } else {
          block.unshift({ pod, tier, speculative: speculative === true });
          if (block.length > this.maxPods) block.pop();
        }
      }
    }
    if (!engineKeys) return;
    const n = Math.max(engineKeys.length, requestKeys.length);
    for (let i = 0; i < n; i++) {
      const e = engineKeys[Math.floor((i * engineKeys.length) / n)] as bigint;
      const r = requestKeys[Math.floor((i * requestKeys.length) / n)] as bigint;
      const mapped = this.engine.get(e) ?? [];
      if (!mapped.includes(r)) mapped.push(r);
      this.engine.set(e, mapped);
    }
  }

  #evictFrom(key: bigint, entries: PodEntry[]): boolean {
    const block = this.blocks.get(key);
    if (!block) return false;
    for (const { pod, tier, speculative } of entries) {
      const at = block.findIndex((e) => e.pod === pod && e.tier === tier);
      if (at >= 0 && !(speculative === true && !block[at]?.speculative)) block.splice(at, 1);
    }
    if (block.length > 0) return true;
    this.blocks.delete(key);
    return false;
  }

  evict(key: bigint, keyType: 'engine' | 'request', entries: PodEntry[]) {
    if (keyType === 'request') {
      this.#evictFrom(key, entries);
      return;
    }
    const mapped = this.engine.get(key);
    if (!mapped) return;
    let held = false;
    for (const r of mapped) held = this.#evictFrom(r, entries) || held;
    if (!held) this.engine.delete(key);
  }

  clear(pod: string) {
    for (const [key, block] of [...this.blocks]) {
      const kept = block.filter((e) => e.pod !== pod);
      if (kept.length === 0) this.blocks.delete(key);
      else this.blocks.set(key, kept);
    }
  }

  lookup(keys: bigint[], pods?: ReadonlySet<string>): string[][] {
    const rows: string[][] = [];
    for (const key of keys) {
      const block = this.blocks.get(key);
      const row = (block ?? []).filter((e) => pods === undefined || pods.has(e.pod));
      if (row.length === 0) break;
      this.#use(key);
      rows.push(row.map((e) => `${e.pod}/${e.tier}${e.speculative ? '?' : ''}`).sort());
    }
    return rows;
  }
}

/** mulberry32: a small seeded generator, so a failure replays. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('InMemoryKvBlockIndex against a Map model', () => {
  it.each([
    [1, 1000, 3],
    [2, 150, 2],
    [3, 150, 10],
  ])('agrees over 6000 random operations (seed %i, %i blocks, %i pods per block)', async (seed, maxBlocks, maxPods) => {
    const next = random(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)] as T;
    const int = (n: number) => Math.floor(next() * n);
    const pods = ['p0', 'p1', 'p2', 'p3', 'p4'];
    const tiers = ['gpu', 'cpu'];
    const entry = (): PodEntry => ({ pod: pick(pods), tier: pick(tiers), speculative: next() < 0.2 });
    const chain = (space: number, offset: bigint) => {
      const start = 1 + int(space);
      return Array.from({ length: 1 + int(8) }, (_, i) => BigInt(start + i) + offset);
    };
    const index = new InMemoryKvBlockIndex({ maxBlocks, maxPodsPerBlock: maxPods, maxEngineKeys: 1_000_000 });
    const model = new ModelIndex(maxBlocks, maxPods);
    const show = (rows: PodEntry[][]) => rows.map((row) => row.map((e) => `${e.pod}/${e.tier}${e.speculative ? '?' : ''}`).sort());
    for (let op = 0; op < 6000; op++) {
      const roll = next();
      if (roll < 0.35) {
        const requestKeys = chain(400, 0n);
        const engineKeys = next() < 0.2 ? null : chain(400, 1_000_000n).slice(0, 1 + int(requestKeys.length + 2));
        const entries = Array.from({ length: 1 + int(3) }, entry);
        await index.add(engineKeys, requestKeys, entries);
        model.add(engineKeys, requestKeys, entries);
      } else if (roll < 0.5) {
        const key = BigInt(1 + int(410));
        const entries = [entry()];
        await index.evict(key, 'request', entries);
        model.evict(key, 'request', entries);
      } else if (roll < 0.65) {
        const key = BigInt(1 + int(410)) + 1_000_000n;
        const entries = [entry(), entry()];
        await index.evict(key, 'engine', entries);
        model.evict(key, 'engine', entries);
      } else if (roll < 0.67) {
        const pod = pick(pods);
        await index.clear(pod);
        model.clear(pod);
      } else if (roll < 0.9) {
        const keys = chain(400, 0n);
        const filter = next() < 0.3 ? new Set([pick(pods), pick(pods)]) : undefined;
        expect(show(await index.lookup(keys, filter)), `op ${op}`).toEqual(model.lookup(keys, filter));
      } else {
        const key = BigInt(1 + int(410)) + 1_000_000n;
        expect(await index.getRequestKey(key), `op ${op}`).toBe(model.engine.get(key)?.at(-1) ?? null);
      }
    }
    const entries = [...model.blocks.values()].reduce((sum, block) => sum + block.length, 0);
    expect(await index.stats()).toEqual({ blocks: model.blocks.size, entries });
  });
});

describe('InMemoryKvBlockIndex.scorePrefix', () => {
  it('agrees with lookup + longestPrefixScores on random contents, filters and weights', async () => {
    const { longestPrefixScores } = await import('../scoring/longest-prefix.js');
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    for (let round = 0; round < 40; round++) {
      const index = new InMemoryKvBlockIndex({ maxPodsPerBlock: 16 });
      const keys = Array.from({ length: 30 }, (_, i) => BigInt(round * 1000 + i + 1));
      for (let p = 0; p < 8; p++) {
        const upTo = Math.floor(rand() * keys.length);
        const tier = rand() < 0.3 ? 'cpu' : 'gpu';
        if (upTo > 0) await index.add(null, keys.slice(rand() < 0.2 ? 1 : 0, upTo), [{ pod: `p${p}`, tier }]);
        if (rand() < 0.3) await index.add(null, keys.slice(0, Math.floor(rand() * keys.length) + 1), [{ pod: `p${p}`, tier: 'gpu' }]);
      }
      const weights = rand() < 0.5 ? { gpu: 1, cpu: 0.5 } : { gpu: 1, cpu: 0.8 };
      const filter = rand() < 0.5 ? new Set(['p1', 'p2', 'p5']) : undefined;
      const expected = longestPrefixScores(await index.lookup(keys, filter), weights);
      expect(await index.scorePrefix(keys, weights, filter)).toEqual(expected);
      const words = new Uint32Array(keys.flatMap((k) => [Number(k & 0xffff_ffffn), Number(k >> 32n)]));
      expect(await index.scorePrefixWords(words, weights, filter)).toEqual(expected);
    }
  });

  it('reads both halves of a word key and stops at the first unusable key', async () => {
    const index = new InMemoryKvBlockIndex();
    const keys = [0x1234_5678_9abc_def0n, 0xffff_ffff_0000_0001n, 0x0000_0001_ffff_ffffn];
    await index.add(null, keys, [{ pod: 'a', tier: 'gpu' }]);
    await index.add(null, keys.slice(0, 1), [{ pod: 'b', tier: 'gpu' }]);
    const weights = { gpu: 1 };
    expect(await index.scorePrefix(keys, weights)).toEqual(new Map([['a', 3], ['b', 1]]));
    expect(await index.scorePrefix([keys[0] as bigint, 0n, keys[1] as bigint], weights)).toEqual(new Map([['a', 1], ['b', 1]]));
    expect(await index.scorePrefix([(1n << 64n) | (keys[0] as bigint)], weights)).toEqual(new Map());
    const words = new Uint32Array([0x9abc_def0, 0x1234_5678, 0x0000_0001, 0xffff_ffff, 0, 0, 0xffff_ffff, 0x0000_0001]);
    expect(await index.scorePrefixWords(words, weights)).toEqual(new Map([['a', 2], ['b', 1]]));
  });
});
