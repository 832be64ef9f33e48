// Reference counts of stored engine blocks per (pod, tier, group, hash), so that a BlockRemoved reaches
// the index only when no store still references the block. vLLM's OffloadingConnector announces the
// same block in two overlapping chunks in chunk mode and removes it twice (llm-d-router #680).

import { RefCountTable } from './ref-count-table.js';

/** Reference counts of stored engine blocks; see the file comment. Not shared across threads: per-pod calls are serialised by the pool. */
export class EventDedupFilter {
  // pod → "tier/group" → hash counts. The hashes live in typed arrays, not in per-hash objects.
  readonly #refs = new Map<string, Map<string, RefCountTable>>();

  static #key(tier: string, group: number | null | undefined): string {
    return group === null || group === undefined ? tier : `${tier}/${group}`;
  }

  /** Counts one more reference to each of `hashes`; a duplicate store counts again. */
  trackStore(pod: string, tier: string, group: number | null | undefined, hashes: readonly bigint[]): void {
    if (hashes.length === 0) return;
    let buckets = this.#refs.get(pod);
    if (buckets === undefined) {
      buckets = new Map();
      this.#refs.set(pod, buckets);
    }
    const key = EventDedupFilter.#key(tier, group);
    let table = buckets.get(key);
    if (table === undefined) {
      table = new RefCountTable();
      buckets.set(key, table);
    }
    for (let i = 0; i < hashes.length; i++) table.increment(hashes[i] as bigint);
  }

  /**
   * Releases one reference to each of `hashes` and returns, in input order, those to evict: the ones
   * whose count reached zero and the ones never tracked (an unknown evict is a no-op in the index, and
   * the block may have been stored before this process started).
   */
  filterRemove(pod: string, tier: string, group: number | null | undefined, hashes: readonly bigint[]): bigint[] {
    const buckets = this.#refs.get(pod);
    const key = EventDedupFilter.#key(tier, group);
    const table = buckets?.get(key);
    if (buckets === undefined || table === undefined) return hashes.slice();
    const kept: bigint[] = [];
    for (const hash of hashes) if (table.decrement(hash)) kept.push(hash);
    if (table.size === 0) {
      buckets.delete(key);
      if (buckets.size === 0) this.#refs.delete(pod);
    }
    return kept;
  }

  /** Drops every count of one pod (AllBlocksCleared, or the pod went away). */
  clear(pod: string): void {
    this.#refs.delete(pod);
  }

  /** Tracked (pod, tier, group, hash) keys, for a gauge. */
  get size(): number {
    let n = 0;
    for (const buckets of this.#refs.values()) for (const table of buckets.values()) n += table.size;
    return n;
  }
}
