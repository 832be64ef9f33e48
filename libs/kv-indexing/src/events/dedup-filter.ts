// Reference counts of stored engine blocks per (pod, tier, group, hash), so that a BlockRemoved reaches
// the index only when no store still references the block. vLLM's OffloadingConnector announces the
// same block in two overlapping chunks in chunk mode and removes it twice (llm-d-router #680).

/** Group key used when an event carries no KV-cache group; real group indices are never negative. */
const NO_GROUP = -1;

/** Reference counts of stored engine blocks; see the file comment. Not shared across threads: per-pod calls are serialised by the pool. */
export class EventDedupFilter {
  // pod → "tier/group/hash" → count. A string key keeps one Map per pod instead of nested maps.
  readonly #refs = new Map<string, Map<string, number>>();

  static #key(tier: string, group: number | null | undefined, hash: bigint): string {
    return `${tier}/${group ?? NO_GROUP}/${hash}`;
  }

  /** Counts one more reference to each of `hashes`; a duplicate store counts again. */
  trackStore(pod: string, tier: string, group: number | null | undefined, hashes: readonly bigint[]): void {
    if (hashes.length === 0) return;
    let bucket = this.#refs.get(pod);
    if (bucket === undefined) {
      bucket = new Map();
      this.#refs.set(pod, bucket);
    }
    for (const hash of hashes) {
      const key = EventDedupFilter.#key(tier, group, hash);
      bucket.set(key, (bucket.get(key) ?? 0) + 1);
    }
  }

  /**
   * Releases one reference to each of `hashes` and returns, in input order, those to evict: the ones
   * whose count reached zero and the ones never tracked (an unknown evict is a no-op in the index, and
   * the block may have been stored before this process started).
   */
  filterRemove(pod: string, tier: string, group: number | null | undefined, hashes: readonly bigint[]): bigint[] {
    const bucket = this.#refs.get(pod);
    if (bucket === undefined) return hashes.slice();
    const kept: bigint[] = [];
    for (const hash of hashes) {
      const key = EventDedupFilter.#key(tier, group, hash);
      const count = bucket.get(key);
      if (count === undefined || count <= 1) {
        bucket.delete(key);
        kept.push(hash);
      } else {
        bucket.set(key, count - 1);
      }
    }
    if (bucket.size === 0) this.#refs.delete(pod);
    return kept;
  }

  /** Drops every count of one pod (AllBlocksCleared, or the pod went away). */
  clear(pod: string): void {
    this.#refs.delete(pod);
  }

  /** Tracked (pod, tier, group, hash) keys, for a gauge. */
  get size(): number {
    let n = 0;
    for (const bucket of this.#refs.values()) n += bucket.size;
    return n;
  }
}
