import type { KvEventSink } from './contracts.js';

const NONE = -1;

/**
 * vLLM's KV block pool with its prefix cache. Block 0 is the null block and is never handed out.
 * Free blocks sit in an LRU queue (an intrusive doubly linked list over typed arrays, so every
 * operation is O(1) and allocation-free); a freed block keeps its hash until it is handed out
 * again, which evicts it from the cache and publishes BlockRemoved.
 */
export class BlockPool {
  /** Blocks including the null block. */
  readonly numBlocks: number;
  readonly #events: KvEventSink;
  readonly #refCount: Int32Array;
  // Free queue links; index `numBlocks` is the sentinel (its next = head, its prev = tail).
  readonly #next: Int32Array;
  readonly #prev: Int32Array;
  readonly #sentinel: number;
  #numFree = 0;
  readonly #keyOf: (string | undefined)[];
  readonly #eventHashOf: bigint[];
  readonly #cache = new Map<string, number>();

  constructor(numBlocks: number, events: KvEventSink) {
    if (!Number.isInteger(numBlocks) || numBlocks < 2) throw new RangeError(`numBlocks must be an integer ≥ 2, got ${numBlocks}`);
    this.numBlocks = numBlocks;
    this.#events = events;
    this.#refCount = new Int32Array(numBlocks);
    this.#next = new Int32Array(numBlocks + 1).fill(NONE);
    this.#prev = new Int32Array(numBlocks + 1).fill(NONE);
    this.#sentinel = numBlocks;
    this.#next[this.#sentinel] = this.#sentinel;
    this.#prev[this.#sentinel] = this.#sentinel;
    this.#keyOf = new Array<string | undefined>(numBlocks).fill(undefined);
    this.#eventHashOf = new Array<bigint>(numBlocks).fill(0n);
    // The null block is taken at start-up, as in vLLM; the rest queue in id order.
    this.#refCount[0] = 1;
    for (let id = 1; id < numBlocks; id++) this.#append(id);
  }

  /** Blocks in the free queue, idle cached ones included. */
  get numFree(): number {
    return this.#numFree;
  }

  /** Blocks holding a prefix-cache entry. */
  get numCached(): number {
    return this.#cache.size;
  }

  /** vLLM's KV usage: `1 − free/(numBlocks − 1)`. */
  usage(): number {
    return 1 - this.#numFree / (this.numBlocks - 1);
  }

  /** References held on a block. */
  refCount(id: number): number {
    return this.#refCount[id] ?? 0;
  }

  /** The block caching `key`, if any. */
  lookup(key: string): number | undefined {
    return this.#cache.get(key);
  }

  /** Whether a block is in the free queue. */
  isFree(id: number): boolean {
    return this.#prev[id] !== NONE;
  }

  /** Free-queue order from the next block to hand out to the last (for tests and debugging). */
  freeOrder(): number[] {
    const out: number[] = [];
    for (let id = this.#next[this.#sentinel] as number; id !== this.#sentinel; id = this.#next[id] as number) out.push(id);
    return out;
  }

  /** How many of `ids[0..count)` sit idle in the free queue (a prefix hit would take them out). */
  countIdle(ids: readonly number[], count: number): number {
    let idle = 0;
    for (let i = 0; i < count; i++) if ((this.#refCount[ids[i] as number] as number) === 0) idle++;
    return idle;
  }

  /** Takes a reference on each of `ids[0..count)` and appends them to `out`; idle ones leave the free queue. */
  touch(ids: readonly number[], count: number, out: number[]): void {
    for (let i = 0; i < count; i++) {
      const id = ids[i] as number;
      if ((this.#refCount[id] as number) === 0) this.#unlink(id);
      this.#refCount[id] = (this.#refCount[id] as number) + 1;
      out.push(id);
    }
  }

  /**
   * Hands out `n` blocks from the head of the free queue into `out`. The caller has checked
   * `n ≤ numFree`. Cached blocks among them are evicted, published as one BlockRemoved.
   */
  allocate(n: number, out: number[]): void {
    let removed: bigint[] | null = null;
    for (let i = 0; i < n; i++) {
      const id = this.#next[this.#sentinel] as number;
      if (id === this.#sentinel) throw new Error('BlockPool.allocate: free queue exhausted');
      this.#unlink(id);
      this.#refCount[id] = 1;
      const key = this.#keyOf[id];
      if (key !== undefined) {
        this.#cache.delete(key);
        this.#keyOf[id] = undefined;
        (removed ??= []).push(this.#eventHashOf[id] as bigint);
      }
      out.push(id);
    }
    if (removed) this.#events.blockRemoved({ blockHashes: removed });
  }

  /**
   * Makes block `id` the cache entry of `key`. Returns false (and changes nothing) when another
   * block already caches `key`: vLLM would then hold two copies; keeping one keeps the published
   * events an exact record of what the cache holds.
   */
  register(id: number, key: string, eventHash: bigint): boolean {
    if (this.#cache.has(key) || this.#keyOf[id] !== undefined) return false;
    this.#cache.set(key, id);
    this.#keyOf[id] = key;
    this.#eventHashOf[id] = eventHash;
    return true;
  }

  /**
   * Drops one reference on each block, last block first, so that a request's tail blocks reach
   * the free queue first and are evicted before its head blocks.
   */
  free(ids: readonly number[]): void {
    for (let i = ids.length - 1; i >= 0; i--) {
      const id = ids[i] as number;
      const rc = (this.#refCount[id] as number) - 1;
      if (rc < 0) throw new Error(`BlockPool.free: block ${id} is not in use`);
      this.#refCount[id] = rc;
      if (rc === 0) this.#append(id);
    }
  }

  /** Forgets every cache entry, in use or idle, and publishes AllBlocksCleared; returns how many were dropped. */
  resetCache(): number {
    const dropped = this.#cache.size;
    for (const id of this.#cache.values()) this.#keyOf[id] = undefined;
    this.#cache.clear();
    this.#events.allBlocksCleared();
    return dropped;
  }

  #append(id: number): void {
    const tail = this.#prev[this.#sentinel] as number;
    this.#next[tail] = id;
    this.#prev[id] = tail;
    this.#next[id] = this.#sentinel;
    this.#prev[this.#sentinel] = id;
    this.#numFree++;
  }

  #unlink(id: number): void {
    const p = this.#prev[id] as number;
    const n = this.#next[id] as number;
    this.#next[p] = n;
    this.#prev[n] = p;
    this.#prev[id] = NONE;
    this.#next[id] = NONE;
    this.#numFree--;
  }
}
