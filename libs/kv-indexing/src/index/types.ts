/** A uint64 block key (request key or engine key). 0n is never a valid key. */
export type BlockKey = bigint;

/** One endpoint's copy of a block: where (pod) and on which device tier (`gpu`, `cpu`, …). */
export interface PodEntry {
  /** Endpoint identity, `ip:port` as the router addresses it. */
  readonly pod: string;
  /** Lower-cased medium; `gpu` when the event had none. */
  readonly tier: string;
  /** Added by the router for the endpoint it just chose, before the engine's events confirm it. */
  readonly speculative?: boolean;
}

/** Which key space an eviction names. */
export type KeyType = 'engine' | 'request';

/**
 * The global KV-block index: request key → the endpoints holding that block, plus the mapping from
 * the engine's block hashes to the indexer's request keys (upstream llm-d `kvblock.Index`).
 * Implementations: in memory (bounded, evicting) and Redis/Valkey (shared by replicas). All methods
 * are async so both share one contract and one test suite.
 */
export interface KvBlockIndex {
  /**
   * The endpoints holding each key, in key order, optionally only those in `pods`. Walks the keys
   * from the first and stops at the first key that no endpoint (of `pods`) holds: the result has one
   * entry per key up to, not including, that key.
   */
  lookup(requestKeys: readonly BlockKey[], pods?: ReadonlySet<string>): Promise<PodEntry[][]>;
  /**
   * Records that `entries` hold the blocks `requestKeys`. `engineKeys` (the engine's hashes of the same
   * tokens; may differ in count when block sizes differ) are mapped to the request keys; null for
   * speculative entries, which have no engine keys.
   */
  add(engineKeys: readonly BlockKey[] | null, requestKeys: readonly BlockKey[], entries: readonly PodEntry[]): Promise<void>;
  /** Removes `entries` from the block named by `key` (an engine key is resolved to its request keys first). */
  evict(key: BlockKey, keyType: KeyType, entries: readonly PodEntry[]): Promise<void>;
  /** The request key an engine key maps to (the last one when it maps to several), or null. */
  getRequestKey(engineKey: BlockKey): Promise<BlockKey | null>;
  /** Removes every entry of one endpoint (AllBlocksCleared, or the endpoint went away). */
  clear(pod: string): Promise<void>;
  /**
   * Optional fast path of lookup + longest-prefix scoring in one pass (no entry arrays built):
   * per pod, the tier-weighted count of consecutive blocks held from key 0; pods absent from key 0
   * get no entry. Indexes without it are scored from {@link lookup}.
   */
  scorePrefix?(requestKeys: readonly BlockKey[], tierWeights: Readonly<Record<string, number>>, pods?: ReadonlySet<string>): Promise<Map<string, number>>;
  /** `scorePrefix` over keys as 32-bit words (low half, then high half, per key), for callers that never made bigints. */
  scorePrefixWords?(words: Uint32Array, tierWeights: Readonly<Record<string, number>>, pods?: ReadonlySet<string>): Promise<Map<string, number>>;
  /** Approximate counts, for metrics. */
  stats(): Promise<{ blocks: number; entries: number }>;
  /** Releases connections and timers. */
  close(): Promise<void>;
}
