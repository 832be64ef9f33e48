// The in-memory KV-block index. It holds up to tens of millions of (block, endpoint) entries in
// one process, so it keeps no object per block or entry: blocks, entries and engine keys are node
// numbers into parallel typed arrays, (endpoint, tier) pairs are interned to small integers, and
// the hash tables hold node numbers (see node-table.ts). Per block: its key (8 bytes), LRU links
// (8) and its entries (4): a block with one entry, the common case, keeps it in those 4 bytes, and
// a block with more points to a list of entry nodes (8 bytes each: the interned (endpoint, tier)
// with the speculative flag in bit 0, and the next node). Per engine key: its key (8), its last
// request key (8) and a used bit for CLOCK eviction (1); earlier request keys of 1:many mappings sit
// in overflow nodes found through a Map, as they are rare. Pools grow by a quarter, so little
// capacity stands empty.
import { assertBlockKeys, forEachKeyPair, isBlockKey } from './block-key.js';
import { MAX_NODES, NONE, NodeTable } from './node-table.js';
import type { BlockKey, KeyType, KvBlockIndex, PodEntry } from './types.js';

const MIN_POOL = 1024;
/** Blocks visited by clear(pod) between yields to the event loop. */
const SWEEP_CHUNK = 65_536;

// One 64-bit word seen as two 32-bit halves: splits and joins keys without allocating.
const word64 = new BigUint64Array(1);
const halves = new Uint32Array(word64.buffer);

function joinKey(lo: number, hi: number): BlockKey {
  halves[0] = lo;
  halves[1] = hi;
  return word64[0] as bigint;
}

function grown<T extends Uint32Array | Int32Array | Uint8Array>(array: T, length: number): T {
  const next = new (array.constructor as new (length: number) => T)(length);
  next.set(array);
  return next;
}

function nextCapacity(current: number, limit: number): number {
  return Math.min(limit, Math.max(MIN_POOL, Math.ceil(current * 1.25)));
}

/** A block's one inline entry ref as stored in its head, and back: heads ≤ -2 are inline refs. */
function inline(refOrHead: number): number {
  return -2 - refOrHead;
}

function positiveInteger(value: number, name: string, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isSafeInteger(value) || value < 1 || value > max) throw new RangeError(`${name} must be an integer from 1 to ${max}, got ${value}`);
  return value;
}

/** Limits of an {@link InMemoryKvBlockIndex}. */
export interface InMemoryKvBlockIndexOptions {
  /** Request-key blocks held; adding one more drops the least recently used (default 10,000,000). */
  readonly maxBlocks?: number;
  /** Entries per block; adding one more drops the least recently added (default 10, upstream's podCacheSize). */
  readonly maxPodsPerBlock?: number;
  /** Engine keys mapped; mapping one more drops one not used lately, CLOCK order (default `maxBlocks`). */
  readonly maxEngineKeys?: number;
}

/** Sizes of an {@link InMemoryKvBlockIndex}, for metrics and the memory benchmark. */
export interface InMemoryKvBlockIndexMemory {
  /** Request-key blocks. */
  readonly blocks: number;
  /** (block, endpoint, tier) entries, counting those of cleared endpoints not swept yet. */
  readonly entries: number;
  /** Engine keys with a mapping. */
  readonly engineKeys: number;
  /** Request keys mapped to an engine key besides its last one (1:many mappings). */
  readonly extraMappings: number;
  /** Interned (endpoint, tier) pairs. */
  readonly endpointTiers: number;
  /** Bytes of all typed arrays, allocated capacity included, plus an estimate for the overflow Map. */
  readonly bytes: number;
}

/** Estimated bytes of one overflow Map entry (V8 hash map slot with small-integer key and value). */
const OVERFLOW_MAP_ENTRY_BYTES = 24;

/**
 * The bounded, evicting in-memory {@link KvBlockIndex} (upstream's InMemory backend, in typed arrays).
 * Blocks are kept in LRU order (adds and lookup hits use them); lookups stop at the first key that no
 * endpoint holds; a non-speculative add of an (endpoint, tier) replaces its speculative entry.
 */
export class InMemoryKvBlockIndex implements KvBlockIndex {
  readonly #maxBlocks: number;
  readonly #maxPods: number;
  readonly #maxEngineKeys: number;

  // Blocks. A free node has key 0 and `bNext` links the free list. `bHead` is NONE (no entries),
  // an entry node (≥ 0) or one inline entry ref (≤ -2, see inline()).
  #bLo: Uint32Array;
  #bHi: Uint32Array;
  #bPrev: Int32Array;
  #bNext: Int32Array;
  #bHead: Int32Array;
  #bTop = 0;
  #bFree = NONE;
  #blocks = 0;
  #mru = NONE;
  #lru = NONE;
  readonly #blockTable = new NodeTable();

  // Entry nodes of blocks with more than one entry. `eRef` is (endpoint-tier << 1) | speculative;
  // `eNext` also links the free list.
  #eNext = new Int32Array(MIN_POOL);
  #eRef = new Uint32Array(MIN_POOL);
  #eTop = 0;
  #eFree = NONE;
  #entries = 0;

  // Interned (endpoint, tier) pairs. A pair is retired by clear(pod): no add reaches it again and
  // lookups skip it while the sweep removes its entries; it is reused once it has none.
  readonly #ptByKey = new Map<string, number>();
  readonly #ptsByPod = new Map<string, number[]>();
  readonly #ptPod: string[] = [];
  readonly #ptTier: string[] = [];
  readonly #ptEntry: (PodEntry | undefined)[] = [];
  readonly #ptSpeculativeEntry: (PodEntry | undefined)[] = [];
  readonly #ptFree: number[] = [];
  #ptRefs = new Int32Array(16);
  #ptRetired = new Uint8Array(16);

  // Engine keys, with the last request key mapped inline. A free node has key 0 and `kReqLo`
  // holds the next free node + 1.
  #kLo: Uint32Array;
  #kHi: Uint32Array;
  #kReqLo: Uint32Array;
  #kReqHi: Uint32Array;
  #kUsed: Uint8Array;
  #kTop = 0;
  #kFree = NONE;
  #engineKeys = 0;
  #hand = 0;
  readonly #engineTable = new NodeTable();
  // Earlier request keys of 1:many engine keys: engine node → first overflow node.
  readonly #overflow = new Map<number, number>();
  #oLo = new Uint32Array(64);
  #oHi = new Uint32Array(64);
  #oNext = new Int32Array(64);
  #oTop = 0;
  #oFree = NONE;
  #extraMappings = 0;

  /** An empty index with the given limits. */
  constructor(options: InMemoryKvBlockIndexOptions = {}) {
    this.#maxBlocks = positiveInteger(options.maxBlocks ?? 10_000_000, 'maxBlocks', MAX_NODES);
    this.#maxPods = positiveInteger(options.maxPodsPerBlock ?? 10, 'maxPodsPerBlock');
    this.#maxEngineKeys = positiveInteger(options.maxEngineKeys ?? this.#maxBlocks, 'maxEngineKeys', MAX_NODES);
    const blocks = Math.min(MIN_POOL, this.#maxBlocks);
    this.#bLo = new Uint32Array(blocks);
    this.#bHi = new Uint32Array(blocks);
    this.#bPrev = new Int32Array(blocks);
    this.#bNext = new Int32Array(blocks);
    this.#bHead = new Int32Array(blocks);
    const engineKeys = Math.min(MIN_POOL, this.#maxEngineKeys);
    this.#kLo = new Uint32Array(engineKeys);
    this.#kHi = new Uint32Array(engineKeys);
    this.#kReqLo = new Uint32Array(engineKeys);
    this.#kReqHi = new Uint32Array(engineKeys);
    this.#kUsed = new Uint8Array(engineKeys);
  }

  async lookup(requestKeys: readonly BlockKey[], pods?: ReadonlySet<string>): Promise<PodEntry[][]> {
    const rows: PodEntry[][] = [];
    for (const key of requestKeys) {
      if (!isBlockKey(key)) break;
      word64[0] = key;
      const block = this.#blockTable.find(halves[0] as number, halves[1] as number, this.#bLo, this.#bHi);
      if (block === NONE) break;
      const row: PodEntry[] = [];
      // e < 0 is the inline entry: visit it once, then stop.
      for (let e = this.#bHead[block] as number; e !== NONE; e = e < 0 ? NONE : (this.#eNext[e] as number)) {
        const ref = e < 0 ? inline(e) : (this.#eRef[e] as number);
        const pt = ref >>> 1;
        if (this.#ptRetired[pt] === 1 || (pods !== undefined && !pods.has(this.#ptPod[pt] as string))) continue;
        row.push((ref & 1 ? this.#ptSpeculativeEntry[pt] : this.#ptEntry[pt]) as PodEntry);
      }
      if (row.length === 0) break;
      this.#touch(block);
      rows.push(row);
    }
    return rows;
  }

  /**
   * Lookup and longest-prefix scoring in one pass over the typed arrays: pods are numbered from the
   * first block's entries, each pod-tier pair maps to its pod once per call, so a block costs a few
   * array reads per entry and nothing is allocated per entry.
   */
  async scorePrefix(requestKeys: readonly BlockKey[], tierWeights: Readonly<Record<string, number>>, pods?: ReadonlySet<string>): Promise<Map<string, number>> {
    // Keys up to the first unusable one, as words: the scan stops there anyway.
    const words = new Uint32Array(requestKeys.length * 2);
    for (let k = 0; k < requestKeys.length; k++) {
      const key = requestKeys[k] as bigint;
      if (!isBlockKey(key)) break;
      word64[0] = key;
      words[2 * k] = halves[0] as number;
      words[2 * k + 1] = halves[1] as number;
    }
    return this.scorePrefixWords(words, tierWeights, pods);
  }

  /**
   * {@link scorePrefix} over keys given as 32-bit words (key i: low half `words[2i]`, high half
   * `words[2i + 1]`, as `requestBlockKeyWords` makes them); a zero key ends the prefix.
   */
  async scorePrefixWords(words: Uint32Array, tierWeights: Readonly<Record<string, number>>, pods?: ReadonlySet<string>): Promise<Map<string, number>> {
    const keyCount = words.length >>> 1;
    const scores = new Map<string, number>();
    const podIndex = new Map<string, number>();
    const names: string[] = [];
    // Pod-tier pair → local pod number (-2: not met yet, -1: not scored) and weight, filled as pairs are met.
    const ptLocal = new Int32Array(this.#ptPod.length).fill(-2);
    const ptWeight = new Float64Array(this.#ptPod.length);
    let total = new Float64Array(0);
    let best = new Float64Array(0);
    let alive = new Uint8Array(0);
    let aliveList = new Int32Array(0);
    let remaining = 0;
    for (let k = 0; k < keyCount; k++) {
      const lo = words[2 * k] as number;
      const hi = words[2 * k + 1] as number;
      if ((lo | hi) === 0) break;
      const block = this.#blockTable.find(lo, hi, this.#bLo, this.#bHi);
      if (block === NONE) break;
      for (let i = 0; i < remaining; i++) best[aliveList[i] as number] = -1;
      for (let e = this.#bHead[block] as number; e !== NONE; e = e < 0 ? NONE : (this.#eNext[e] as number)) {
        const pt = (e < 0 ? inline(e) : (this.#eRef[e] as number)) >>> 1;
        if (this.#ptRetired[pt] === 1) continue;
        let local = ptLocal[pt] as number;
        if (local === -2) {
          const pod = this.#ptPod[pt] as string;
          if (pods !== undefined && !pods.has(pod)) local = -1;
          else if (k === 0) {
            const known = podIndex.get(pod);
            if (known === undefined) {
              local = names.length;
              podIndex.set(pod, local);
              names.push(pod);
            } else local = known;
          } else local = podIndex.get(pod) ?? -1;
          ptLocal[pt] = local;
          const tier = this.#ptTier[pt] as string;
          ptWeight[pt] = Object.hasOwn(tierWeights, tier) ? (tierWeights[tier] as number) : 1;
        }
        if (local < 0) continue;
        if (k === 0 && local >= best.length) {
          // Row 0 sizes the arrays as pods appear.
          const grow = (a: Float64Array) => {
            const b = new Float64Array(Math.max(8, local * 2 + 1)).fill(-1);
            b.set(a);
            return b;
          };
          best = grow(best);
          total = new Float64Array(best.length);
          alive = new Uint8Array(best.length);
        }
        if (k > 0 && alive[local] === 0) continue;
        const w = ptWeight[pt] as number;
        if (w > (best[local] as number)) best[local] = w;
      }
      if (k === 0) {
        remaining = names.length;
        if (remaining === 0) break;
        alive.fill(1, 0, remaining);
        aliveList = new Int32Array(remaining);
        for (let j = 0; j < remaining; j++) aliveList[j] = j;
      }
      // Add each surviving pod's weight; pods that lack this block leave the (compacted) alive list.
      let kept = 0;
      for (let i = 0; i < remaining; i++) {
        const j = aliveList[i] as number;
        const w = best[j] as number;
        if (w < 0) alive[j] = 0;
        else {
          total[j] = (total[j] as number) + w;
          aliveList[kept++] = j;
        }
      }
      remaining = kept;
      this.#touch(block);
      if (remaining === 0) break;
    }
    for (let j = 0; j < names.length; j++) scores.set(names[j] as string, total[j] as number);
    return scores;
  }

  async add(engineKeys: readonly BlockKey[] | null, requestKeys: readonly BlockKey[], entries: readonly PodEntry[]): Promise<void> {
    assertBlockKeys(requestKeys, 'request key');
    if (engineKeys) assertBlockKeys(engineKeys, 'engine key');
    if (entries.length === 0) return;
    // Pinned for the whole add: evicting other blocks must not free a pair this add still uses.
    const pts = entries.map((entry) => this.#pin(entry.pod, entry.tier));
    const speculative = entries.map((entry) => entry.speculative === true);
    try {
      for (let k = 0; k < requestKeys.length; k++) {
        word64[0] = requestKeys[k] as bigint;
        const lo = halves[0] as number;
        const hi = halves[1] as number;
        let block = this.#blockTable.find(lo, hi, this.#bLo, this.#bHi);
        if (block === NONE) block = this.#newBlock(lo, hi);
        else this.#touch(block);
        for (let i = 0; i < pts.length; i++) this.#upsert(block, pts[i] as number, speculative[i] as boolean);
      }
    } finally {
      for (const pt of pts) this.#release(pt);
    }
    if (engineKeys && engineKeys.length === requestKeys.length) {
      // Same block size on both sides, the common case: key i maps to key i.
      for (let i = 0; i < engineKeys.length; i++) {
        word64[0] = requestKeys[i] as bigint;
        const rLo = halves[0] as number;
        const rHi = halves[1] as number;
        word64[0] = engineKeys[i] as bigint;
        this.#map(halves[0] as number, halves[1] as number, rLo, rHi);
      }
    } else if (engineKeys) {
      forEachKeyPair(engineKeys.length, requestKeys.length, (e, r) => {
        word64[0] = requestKeys[r] as bigint;
        const rLo = halves[0] as number;
        const rHi = halves[1] as number;
        word64[0] = engineKeys[e] as bigint;
        this.#map(halves[0] as number, halves[1] as number, rLo, rHi);
      });
    }
  }

  async evict(key: BlockKey, keyType: KeyType, entries: readonly PodEntry[]): Promise<void> {
    if (!isBlockKey(key) || entries.length === 0) return;
    word64[0] = key;
    const lo = halves[0] as number;
    const hi = halves[1] as number;
    if (keyType === 'request') {
      this.#evictFrom(lo, hi, entries);
      return;
    }
    const k = this.#engineTable.find(lo, hi, this.#kLo, this.#kHi);
    if (k === NONE) return;
    let held = this.#evictFrom(this.#kReqLo[k] as number, this.#kReqHi[k] as number, entries);
    for (let o = this.#overflow.get(k) ?? NONE; o !== NONE; o = this.#oNext[o] as number) {
      held = this.#evictFrom(this.#oLo[o] as number, this.#oHi[o] as number, entries) || held;
    }
    // Upstream keeps the mapping while any of its blocks has endpoints left (another tier, say).
    if (!held) this.#dropEngineKey(k);
  }

  async getRequestKey(engineKey: BlockKey): Promise<BlockKey | null> {
    if (!isBlockKey(engineKey)) return null;
    word64[0] = engineKey;
    const k = this.#engineTable.find(halves[0] as number, halves[1] as number, this.#kLo, this.#kHi);
    if (k === NONE) return null;
    this.#kUsed[k] = 1;
    return joinKey(this.#kReqLo[k] as number, this.#kReqHi[k] as number);
  }

  /**
   * Retires the endpoint's (endpoint, tier) pairs at once, so lookups stop seeing them and later
   * adds start new ones, then sweeps their entries out in chunks, yielding to the event loop between.
   */
  async clear(pod: string): Promise<void> {
    const pts = this.#ptsByPod.get(pod);
    if (!pts) return;
    this.#ptsByPod.delete(pod);
    for (const pt of pts) {
      this.#ptRetired[pt] = 1;
      this.#ptByKey.delete(this.#ptKey(this.#ptPod[pt] as string, this.#ptTier[pt] as string));
    }
    // A retired pair is freed (and un-retired) when its last entry goes, so the sweep is done then.
    const pending = () => pts.some((pt) => this.#ptRetired[pt] === 1);
    for (let start = 0; start < this.#bTop && pending(); start += SWEEP_CHUNK) {
      if (start > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      const end = Math.min(this.#bTop, start + SWEEP_CHUNK);
      for (let block = start; block < end; block++) {
        if (((this.#bLo[block] as number) | (this.#bHi[block] as number)) !== 0) this.#sweepRetired(block);
      }
    }
  }

  async stats(): Promise<{ blocks: number; entries: number }> {
    return { blocks: this.#blocks, entries: this.#entries };
  }

  async close(): Promise<void> {
    // Nothing to release: the typed arrays go with the object.
  }

  /** Counts, and the bytes of every typed array (capacity, not only what is in use). */
  memoryStats(): InMemoryKvBlockIndexMemory {
    const arrays = [
      this.#bLo, this.#bHi, this.#bPrev, this.#bNext, this.#bHead,
      this.#eNext, this.#eRef, this.#ptRefs, this.#ptRetired,
      this.#kLo, this.#kHi, this.#kReqLo, this.#kReqHi, this.#kUsed,
      this.#oLo, this.#oHi, this.#oNext,
    ];
    let bytes = this.#blockTable.bytes + this.#engineTable.bytes + this.#overflow.size * OVERFLOW_MAP_ENTRY_BYTES;
    for (const a of arrays) bytes += a.byteLength;
    return {
      blocks: this.#blocks,
      entries: this.#entries,
      engineKeys: this.#engineKeys,
      extraMappings: this.#extraMappings,
      endpointTiers: this.#ptByKey.size,
      bytes,
    };
  }

  // --- blocks ---

  #newBlock(lo: number, hi: number): number {
    if (this.#blocks >= this.#maxBlocks) this.#dropBlock(this.#lru);
    let block = this.#bFree;
    if (block !== NONE) {
      this.#bFree = this.#bNext[block] as number;
    } else {
      if (this.#bTop === this.#bLo.length) this.#growBlocks();
      block = this.#bTop++;
    }
    this.#bLo[block] = lo;
    this.#bHi[block] = hi;
    this.#bHead[block] = NONE;
    this.#blockTable.insert(block, lo, hi, this.#bLo, this.#bHi);
    this.#linkFront(block);
    this.#blocks++;
    return block;
  }

  #dropBlock(block: number): void {
    const head = this.#bHead[block] as number;
    if (head < NONE) {
      this.#unref(inline(head));
    } else {
      for (let e = head; e !== NONE; ) {
        const next = this.#eNext[e] as number;
        this.#unref(this.#eRef[e] as number);
        this.#freeNode(e);
        e = next;
      }
    }
    this.#blockTable.remove(block, this.#bLo[block] as number, this.#bHi[block] as number, this.#bLo, this.#bHi);
    this.#unlink(block);
    this.#bLo[block] = 0;
    this.#bHi[block] = 0;
    this.#bHead[block] = NONE;
    this.#bNext[block] = this.#bFree;
    this.#bFree = block;
    this.#blocks--;
  }

  #growBlocks(): void {
    const length = nextCapacity(this.#bLo.length, this.#maxBlocks);
    this.#bLo = grown(this.#bLo, length);
    this.#bHi = grown(this.#bHi, length);
    this.#bPrev = grown(this.#bPrev, length);
    this.#bNext = grown(this.#bNext, length);
    this.#bHead = grown(this.#bHead, length);
  }

  #linkFront(block: number): void {
    this.#bPrev[block] = NONE;
    this.#bNext[block] = this.#mru;
    if (this.#mru !== NONE) this.#bPrev[this.#mru] = block;
    else this.#lru = block;
    this.#mru = block;
  }

  #unlink(block: number): void {
    const prev = this.#bPrev[block] as number;
    const next = this.#bNext[block] as number;
    if (prev !== NONE) this.#bNext[prev] = next;
    else this.#mru = next;
    if (next !== NONE) this.#bPrev[next] = prev;
    else this.#lru = prev;
  }

  #touch(block: number): void {
    if (this.#mru === block) return;
    this.#unlink(block);
    this.#linkFront(block);
  }

  /** Removes `entries` from the block with key (lo, hi); whether the block still exists after. */
  #evictFrom(lo: number, hi: number, entries: readonly PodEntry[]): boolean {
    const block = this.#blockTable.find(lo, hi, this.#bLo, this.#bHi);
    if (block === NONE) return false;
    for (const entry of entries) {
      const pt = this.#ptByKey.get(this.#ptKey(entry.pod, entry.tier));
      if (pt !== undefined) this.#removeEntry(block, pt, entry.speculative === true);
    }
    if (this.#bHead[block] !== NONE) return true;
    this.#dropBlock(block);
    return false;
  }

  // --- entries ---

  /** Adds or refreshes (pt, speculative) at the front of the block's entries, dropping the oldest beyond the limit. */
  #upsert(block: number, pt: number, speculative: boolean): void {
    const ref = (pt << 1) | (speculative ? 1 : 0);
    const head = this.#bHead[block] as number;
    // The common cases, with the block's only entry inline.
    if (head === NONE) {
      this.#bHead[block] = inline(ref);
      this.#addRef(ref);
      return;
    }
    if (head < NONE && inline(head) >>> 1 === pt) {
      // The engine confirmed what the router guessed; a guess never downgrades a confirmed entry.
      if (!speculative) this.#bHead[block] = inline(ref);
      return;
    }
    this.#listify(block);
    let found = NONE;
    let foundPrev = NONE;
    let count = 0;
    let tail = NONE;
    let tailPrev = NONE;
    let prev = NONE;
    for (let e = this.#bHead[block] as number; e !== NONE; ) {
      const next = this.#eNext[e] as number;
      const eRef = this.#eRef[e] as number;
      if (this.#ptRetired[eRef >>> 1] === 1) {
        // A cleared endpoint's entry: drop it here rather than let it take a place.
        if (prev === NONE) this.#bHead[block] = next;
        else this.#eNext[prev] = next;
        this.#unref(eRef);
        this.#freeNode(e);
        e = next;
        continue;
      }
      if (eRef >>> 1 === pt) {
        found = e;
        foundPrev = prev;
      }
      count++;
      tailPrev = prev;
      tail = e;
      prev = e;
      e = next;
    }
    if (found !== NONE) {
      if (!speculative) this.#eRef[found] = ref;
      if (foundPrev !== NONE) {
        this.#eNext[foundPrev] = this.#eNext[found] as number;
        this.#eNext[found] = this.#bHead[block] as number;
        this.#bHead[block] = found;
      }
    } else {
      const e = this.#newNode(ref);
      this.#eNext[e] = this.#bHead[block] as number;
      this.#bHead[block] = e;
      this.#addRef(ref);
      if (count + 1 > this.#maxPods) {
        this.#eNext[tailPrev === NONE ? e : tailPrev] = NONE;
        this.#unref(this.#eRef[tail] as number);
        this.#freeNode(tail);
      }
    }
    this.#unlistify(block);
  }

  /** Removes the block's entry of `pt` (only while speculative when `onlySpeculative`). */
  #removeEntry(block: number, pt: number, onlySpeculative: boolean): void {
    const head = this.#bHead[block] as number;
    if (head < NONE) {
      const ref = inline(head);
      if (ref >>> 1 === pt && !(onlySpeculative && (ref & 1) === 0)) {
        this.#bHead[block] = NONE;
        this.#unref(ref);
      }
      return;
    }
    let prev = NONE;
    for (let e = head; e !== NONE; prev = e, e = this.#eNext[e] as number) {
      const ref = this.#eRef[e] as number;
      if (ref >>> 1 !== pt) continue;
      if (onlySpeculative && (ref & 1) === 0) return;
      if (prev === NONE) this.#bHead[block] = this.#eNext[e] as number;
      else this.#eNext[prev] = this.#eNext[e] as number;
      this.#unref(ref);
      this.#freeNode(e);
      this.#unlistify(block);
      return;
    }
  }

  #sweepRetired(block: number): void {
    this.#listify(block);
    let prev = NONE;
    for (let e = this.#bHead[block] as number; e !== NONE; ) {
      const next = this.#eNext[e] as number;
      const ref = this.#eRef[e] as number;
      if (this.#ptRetired[ref >>> 1] === 1) {
        if (prev === NONE) this.#bHead[block] = next;
        else this.#eNext[prev] = next;
        this.#unref(ref);
        this.#freeNode(e);
      } else {
        prev = e;
      }
      e = next;
    }
    if (this.#bHead[block] === NONE) this.#dropBlock(block);
    else this.#unlistify(block);
  }

  /** Moves an inline entry into a node, so list code can handle every block alike. */
  #listify(block: number): void {
    const head = this.#bHead[block] as number;
    if (head >= NONE) return;
    const e = this.#newNode(inline(head));
    this.#eNext[e] = NONE;
    this.#bHead[block] = e;
  }

  /** Puts a block's only entry back inline, freeing its node. */
  #unlistify(block: number): void {
    const head = this.#bHead[block] as number;
    if (head < 0 || this.#eNext[head] !== NONE) return;
    this.#bHead[block] = inline(this.#eRef[head] as number);
    this.#freeNode(head);
  }

  #newNode(ref: number): number {
    let e = this.#eFree;
    if (e !== NONE) {
      this.#eFree = this.#eNext[e] as number;
    } else {
      if (this.#eTop === this.#eNext.length) {
        const length = nextCapacity(this.#eNext.length, 2 ** 31 - 1);
        this.#eNext = grown(this.#eNext, length);
        this.#eRef = grown(this.#eRef, length);
      }
      e = this.#eTop++;
    }
    this.#eRef[e] = ref;
    return e;
  }

  #freeNode(e: number): void {
    this.#eNext[e] = this.#eFree;
    this.#eFree = e;
  }

  #addRef(ref: number): void {
    const pt = ref >>> 1;
    this.#ptRefs[pt] = (this.#ptRefs[pt] as number) + 1;
    this.#entries++;
  }

  #unref(ref: number): void {
    this.#entries--;
    this.#release(ref >>> 1);
  }

  // --- (endpoint, tier) pairs ---

  #ptKey(pod: string, tier: string): string {
    return `${pod}\u0000${tier}`;
  }

  /** Interns (pod, tier) and holds a reference to it until {@link #release}. */
  #pin(pod: string, tier: string): number {
    const key = this.#ptKey(pod, tier);
    let pt = this.#ptByKey.get(key);
    if (pt === undefined) {
      pt = this.#ptFree.pop() ?? this.#ptPod.length;
      // Refs must fit an inline head (≤ -2 as an int32): 2^29 pairs is far beyond any fleet.
      if (pt >= 2 ** 29) throw new RangeError('in-memory KV-block index: too many (endpoint, tier) pairs');
      if (pt >= this.#ptRefs.length) {
        this.#ptRefs = grown(this.#ptRefs, this.#ptRefs.length * 2);
        this.#ptRetired = grown(this.#ptRetired, this.#ptRetired.length * 2);
      }
      this.#ptPod[pt] = pod;
      this.#ptTier[pt] = tier;
      this.#ptEntry[pt] = Object.freeze({ pod, tier });
      this.#ptSpeculativeEntry[pt] = Object.freeze({ pod, tier, speculative: true });
      this.#ptRefs[pt] = 0;
      this.#ptRetired[pt] = 0;
      this.#ptByKey.set(key, pt);
      const ofPod = this.#ptsByPod.get(pod);
      if (ofPod) ofPod.push(pt);
      else this.#ptsByPod.set(pod, [pt]);
    }
    this.#ptRefs[pt] = (this.#ptRefs[pt] as number) + 1;
    return pt;
  }

  #release(pt: number): void {
    const refs = (this.#ptRefs[pt] as number) - 1;
    this.#ptRefs[pt] = refs;
    if (refs > 0) return;
    const pod = this.#ptPod[pt] as string;
    if (this.#ptRetired[pt] === 0) {
      this.#ptByKey.delete(this.#ptKey(pod, this.#ptTier[pt] as string));
      const ofPod = this.#ptsByPod.get(pod) ?? [];
      ofPod.splice(ofPod.indexOf(pt), 1);
      if (ofPod.length === 0) this.#ptsByPod.delete(pod);
    }
    this.#ptRetired[pt] = 0;
    this.#ptEntry[pt] = undefined;
    this.#ptSpeculativeEntry[pt] = undefined;
    this.#ptFree.push(pt);
  }

  // --- engine keys ---

  /** Maps engine key (eLo, eHi) to request key (rLo, rHi); a request key already mapped keeps its place. */
  #map(eLo: number, eHi: number, rLo: number, rHi: number): void {
    let k = this.#engineTable.find(eLo, eHi, this.#kLo, this.#kHi);
    if (k === NONE) {
      k = this.#newEngineKey(eLo, eHi);
      this.#kReqLo[k] = rLo;
      this.#kReqHi[k] = rHi;
      return;
    }
    this.#kUsed[k] = 1;
    if (this.#kReqLo[k] === rLo && this.#kReqHi[k] === rHi) return;
    const first = this.#overflow.get(k) ?? NONE;
    for (let o = first; o !== NONE; o = this.#oNext[o] as number) {
      if (this.#oLo[o] === rLo && this.#oHi[o] === rHi) return;
    }
    const o = this.#newOverflow(this.#kReqLo[k] as number, this.#kReqHi[k] as number);
    this.#oNext[o] = first;
    this.#overflow.set(k, o);
    this.#kReqLo[k] = rLo;
    this.#kReqHi[k] = rHi;
  }

  #newEngineKey(lo: number, hi: number): number {
    if (this.#engineKeys >= this.#maxEngineKeys) this.#evictEngineKey();
    let k = this.#kFree;
    if (k !== NONE) {
      this.#kFree = (this.#kReqLo[k] as number) - 1;
    } else {
      if (this.#kTop === this.#kLo.length) {
        const length = nextCapacity(this.#kLo.length, this.#maxEngineKeys);
        this.#kLo = grown(this.#kLo, length);
        this.#kHi = grown(this.#kHi, length);
        this.#kReqLo = grown(this.#kReqLo, length);
        this.#kReqHi = grown(this.#kReqHi, length);
        this.#kUsed = grown(this.#kUsed, length);
      }
      k = this.#kTop++;
    }
    this.#kLo[k] = lo;
    this.#kHi[k] = hi;
    this.#kUsed[k] = 1;
    this.#engineTable.insert(k, lo, hi, this.#kLo, this.#kHi);
    this.#engineKeys++;
    return k;
  }

  /** CLOCK (second chance): one bit per engine key instead of LRU links, as this table is as large as the block table. */
  #evictEngineKey(): void {
    for (;;) {
      if (this.#hand >= this.#kTop) this.#hand = 0;
      const k = this.#hand++;
      if (((this.#kLo[k] as number) | (this.#kHi[k] as number)) === 0) continue;
      if (this.#kUsed[k] === 1) {
        this.#kUsed[k] = 0;
        continue;
      }
      this.#dropEngineKey(k);
      return;
    }
  }

  #dropEngineKey(k: number): void {
    const first = this.#overflow.get(k);
    if (first !== undefined) {
      this.#overflow.delete(k);
      for (let o = first; o !== NONE; ) {
        const next = this.#oNext[o] as number;
        this.#oNext[o] = this.#oFree;
        this.#oFree = o;
        this.#extraMappings--;
        o = next;
      }
    }
    this.#engineTable.remove(k, this.#kLo[k] as number, this.#kHi[k] as number, this.#kLo, this.#kHi);
    this.#kLo[k] = 0;
    this.#kHi[k] = 0;
    this.#kReqLo[k] = this.#kFree + 1;
    this.#kFree = k;
    this.#engineKeys--;
  }

  #newOverflow(lo: number, hi: number): number {
    let o = this.#oFree;
    if (o !== NONE) {
      this.#oFree = this.#oNext[o] as number;
    } else {
      if (this.#oTop === this.#oLo.length) {
        const length = nextCapacity(this.#oLo.length, 2 ** 31 - 1);
        this.#oLo = grown(this.#oLo, length);
        this.#oHi = grown(this.#oHi, length);
        this.#oNext = grown(this.#oNext, length);
      }
      o = this.#oTop++;
    }
    this.#oLo[o] = lo;
    this.#oHi[o] = hi;
    this.#extraMappings++;
    return o;
  }
}
