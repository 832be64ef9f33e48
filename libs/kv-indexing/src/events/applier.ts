// Applies decoded vLLM KV-event batches to the block index (upstream llm-d-router pkg/kvevents/pool.go,
// processEventBatch): BlockStored becomes request keys plus an engine→request mapping, BlockRemoved
// evicts by engine key, AllBlocksCleared clears the pod.
import { requestBlockKeys } from '@llmd/kv-cache';
import type { BlockRemoved, BlockStored, KvEventBatch, RequestKeyAlgorithm } from '@llmd/kv-cache';
import type { Logger } from 'pino';
import type { BlockKey, KvBlockIndex, PodEntry } from '../index/types.js';
import { EventDedupFilter } from './dedup-filter.js';
import { realignExtraKeys } from './extra-keys.js';

/** Why an event (or part of one) was not applied; one counter each. */
export type KvEventDropReason =
  /** BlockStored whose parent block the index does not know: the chain cannot be continued. */
  | 'unknown-parent'
  /** Hybrid-memory group whose kind is not prefix-indexable (sliding window, mamba …) or not yet known. */
  | 'unindexed-group'
  /** Grouped BlockStored whose tokens do not fill exactly its blocks. */
  | 'non-dense-span'
  /** BlockStored with tokens but fewer than one indexer block of them. */
  | 'no-full-block'
  /** Tokenless BlockStored (CPU offload) none of whose engine keys the index knows. */
  | 'unknown-engine-keys'
  /** The index threw; the event was skipped. */
  | 'index-error';

/** All drop reasons, for initialising metrics. */
export const KV_EVENT_DROP_REASONS: readonly KvEventDropReason[] = Object.freeze([
  'unknown-parent',
  'unindexed-group',
  'non-dense-span',
  'no-full-block',
  'unknown-engine-keys',
  'index-error',
]);

/** Monotonic counters of a {@link KvEventApplier}, read by the app's metrics. */
export interface KvEventApplierCounters {
  /** Batches given to apply(). */
  batches: number;
  /** Events applied, by type. */
  applied: { blockStored: number; blockRemoved: number; allBlocksCleared: number };
  /** Events not applied, by reason. */
  dropped: Record<KvEventDropReason, number>;
  /** Engine blocks of applied BlockStored events. */
  blocksStored: number;
  /** Engine keys evicted from the index. */
  blocksRemoved: number;
  /** Engine keys of BlockRemoved events held back because another store still references them. */
  removalsSuppressed: number;
}

/** Options of {@link KvEventApplier}. */
export interface KvEventApplierOptions {
  readonly index: KvBlockIndex;
  /** The indexer's tokens per request-key block (llm-d `blockSizeTokens`); 16 by default. */
  readonly blockSize?: number;
  /** Seed of the request-key chain (llm-d `hashSeed`); "" by default. */
  readonly hashSeed?: string;
  /** Request-key chain algorithm; `cbor-fnv` (upstream's default) when absent. */
  readonly algorithm?: RequestKeyAlgorithm;
  /** Device tier of an event's `medium`; lower-cased, `gpu` when absent or empty, by default. */
  readonly tierOf?: (medium: string | null) => string;
  readonly logger: Logger;
}

/** KV-cache spec kinds whose blocks form a prefix chain (upstream `isPrefixIndexableSpecKind`). */
const INDEXABLE_KINDS: ReadonlySet<string> = new Set(['full_attention', 'mla_attention', 'sink_full_attention']);

/** Default {@link KvEventApplierOptions.tierOf}: lower-cased medium, `gpu` when there is none. */
export function defaultTierOf(medium: string | null): string {
  return medium === null || medium === '' ? 'gpu' : medium.toLowerCase();
}

/**
 * Applies one publisher's event batches to a {@link KvBlockIndex}. Calls for one pod must not overlap
 * (the {@link ShardedEventPool} guarantees it): the dedup counts and the parent lookups assume the
 * pod's events are applied in order.
 */
export class KvEventApplier {
  readonly #index: KvBlockIndex;
  readonly #blockSize: number;
  readonly #hashSeed: string;
  readonly #algorithm: RequestKeyAlgorithm;
  readonly #tierOf: (medium: string | null) => string;
  readonly #logger: Logger;
  readonly #dedup = new EventDedupFilter();
  // pod → group index → spec kind, learned from BlockStored events that name it. Removals carry no
  // kind, so this is how a BlockRemoved of a sliding-window group is recognised and skipped.
  readonly #groupKinds = new Map<string, Map<number, string>>();

  /** Counters for metrics; plain numbers, updated in place. */
  readonly counters: KvEventApplierCounters = {
    batches: 0,
    applied: { blockStored: 0, blockRemoved: 0, allBlocksCleared: 0 },
    dropped: Object.fromEntries(KV_EVENT_DROP_REASONS.map((r) => [r, 0])) as Record<KvEventDropReason, number>,
    blocksStored: 0,
    blocksRemoved: 0,
    removalsSuppressed: 0,
  };

  constructor(options: KvEventApplierOptions) {
    const blockSize = options.blockSize ?? 16;
    if (!Number.isSafeInteger(blockSize) || blockSize <= 0) {
      throw new RangeError(`blockSize: expected a positive integer, got ${String(blockSize)}`);
    }
    this.#index = options.index;
    this.#blockSize = blockSize;
    this.#hashSeed = options.hashSeed ?? '';
    this.#algorithm = options.algorithm ?? 'cbor-fnv';
    this.#tierOf = options.tierOf ?? defaultTierOf;
    this.#logger = options.logger;
  }

  /** Tracked dedup references, for a gauge. */
  get dedupSize(): number {
    return this.#dedup.size;
  }

  /**
   * Applies a batch's events in order for endpoint `pod`. `modelFromTopic` is the model the publisher's
   * topic names; a BlockStored's LoRA name takes its place. Never throws for a bad event or an index
   * failure: the event is counted as dropped and the next one applied.
   */
  async apply(pod: string, modelFromTopic: string, batch: KvEventBatch): Promise<void> {
    this.counters.batches++;
    for (const event of batch.events) {
      switch (event.type) {
        case 'BlockStored':
          await this.#stored(pod, modelFromTopic, event);
          break;
        case 'BlockRemoved':
          await this.#removed(pod, event);
          break;
        case 'AllBlocksCleared':
          if (await this.#guard(pod, 'clear', () => this.clearPod(pod))) this.counters.applied.allBlocksCleared++;
          break;
      }
    }
  }

  /** Forgets everything about one endpoint: its index entries and its dedup counts. */
  async clearPod(pod: string): Promise<void> {
    this.#dedup.clear(pod);
    await this.#index.clear(pod);
  }

  #drop(reason: KvEventDropReason, pod: string, detail: Record<string, unknown>): void {
    this.counters.dropped[reason]++;
    this.#logger.debug({ pod, reason, ...detail }, 'KV event dropped');
  }

  // Runs one index operation; an index failure drops the event rather than stopping the pod's stream.
  async #guard(pod: string, op: string, fn: () => Promise<void>): Promise<boolean> {
    try {
      await fn();
      return true;
    } catch (err) {
      this.counters.dropped['index-error']++;
      this.#logger.warn({ err, pod, op }, 'KV block index operation failed; event skipped');
      return false;
    }
  }

  // The group's kind when the event names one, else the one learned earlier; null when unknown.
  #groupKind(pod: string, group: number, kind: string | null | undefined): string | null {
    let kinds = this.#groupKinds.get(pod);
    if (kind !== null && kind !== undefined && kind !== '') {
      if (kinds === undefined) {
        kinds = new Map();
        this.#groupKinds.set(pod, kinds);
      }
      kinds.set(group, kind);
      return kind;
    }
    return kinds?.get(group) ?? null;
  }

  async #stored(pod: string, modelFromTopic: string, event: BlockStored): Promise<void> {
    const tier = this.#tierOf(event.medium);
    const group = event.groupIdx ?? null;
    const engineKeys = event.blockHashes;
    const tokens = event.tokenIds;
    if (engineKeys.length === 0) return;

    // Hybrid models publish one stream per KV-cache group; only full-attention-like groups describe a
    // reusable prefix, and only when the tokens cover exactly the announced blocks (RTR #2363).
    if (group !== null) {
      const kind = this.#groupKind(pod, group, event.kvCacheSpecKind);
      if (kind === null || !INDEXABLE_KINDS.has(kind)) {
        this.#drop('unindexed-group', pod, { group, kind });
        return;
      }
      if (tokens.length > 0 && (event.blockSize <= 0 || tokens.length !== engineKeys.length * event.blockSize)) {
        this.#drop('non-dense-span', pod, { group, tokens: tokens.length, blocks: engineKeys.length, blockSize: event.blockSize });
        return;
      }
    }

    const entries: PodEntry[] = [{ pod, tier }];
    if (tokens.length === 0) {
      await this.#tierUpdate(pod, tier, group, engineKeys, entries);
      return;
    }

    let parentKey: BlockKey | undefined;
    if (event.parentBlockHash !== null) {
      let resolved: BlockKey | null = null;
      try {
        resolved = await this.#index.getRequestKey(event.parentBlockHash);
      } catch (err) {
        this.counters.dropped['index-error']++;
        this.#logger.warn({ err, pod, op: 'getRequestKey' }, 'KV block index operation failed; event skipped');
        return;
      }
      if (resolved === null) {
        this.#drop('unknown-parent', pod, { parent: event.parentBlockHash.toString(), blocks: engineKeys.length });
        return;
      }
      parentKey = resolved;
    }

    const blockSize = this.#blockSize;
    const blockCount = Math.floor(tokens.length / blockSize);
    if (blockCount === 0) {
      this.#drop('no-full-block', pod, { tokens: tokens.length, blockSize });
      return;
    }
    const engineBlockSize = event.blockSize > 0 ? event.blockSize : blockSize;
    const extras = realignExtraKeys({
      extraKeys: event.extraKeys,
      loraName: event.loraName,
      engineBlockSize,
      blockSize,
      blockCount,
      startsSequence: event.parentBlockHash === null,
    });
    const model = event.loraName !== null && event.loraName !== '' ? event.loraName : modelFromTopic;
    const requestKeys = requestBlockKeys(tokens, {
      blockSize,
      hashSeed: this.#hashSeed,
      modelName: model,
      ...(parentKey !== undefined ? { parentKey } : {}),
      ...(extras !== null ? { extra: (i: number) => extras[i] ?? null } : {}),
      algorithm: this.#algorithm,
    });

    // Map only the engine blocks whose tokens the request keys cover: with an indexer block larger than
    // the engine's, a trailing engine block belongs to no full request block, and mapping it to the
    // last one would let a later event chain from the wrong place.
    let mapped: readonly BlockKey[] = engineKeys;
    if (engineBlockSize !== blockSize) {
      const covered = Math.floor((blockCount * blockSize) / engineBlockSize);
      if (covered < engineKeys.length) mapped = engineKeys.slice(0, covered);
    }
    if (!(await this.#guard(pod, 'add', () => this.#index.add(mapped, requestKeys, entries)))) return;
    this.#dedup.trackStore(pod, tier, group, engineKeys);
    this.counters.applied.blockStored++;
    this.counters.blocksStored += engineKeys.length;
  }

  // A tokenless store (CPU offload): the blocks are already known under their request keys, so the
  // new tier is added to those keys.
  async #tierUpdate(pod: string, tier: string, group: number | null, engineKeys: readonly BlockKey[], entries: PodEntry[]): Promise<void> {
    const requestKeys: BlockKey[] = [];
    const seen = new Set<BlockKey>();
    for (const engineKey of engineKeys) {
      let key: BlockKey | null;
      try {
        key = await this.#index.getRequestKey(engineKey);
      } catch (err) {
        this.counters.dropped['index-error']++;
        this.#logger.warn({ err, pod, op: 'getRequestKey' }, 'KV block index operation failed; event skipped');
        return;
      }
      if (key !== null && !seen.has(key)) {
        seen.add(key);
        requestKeys.push(key);
      }
    }
    if (requestKeys.length === 0) {
      this.#drop('unknown-engine-keys', pod, { tier, blocks: engineKeys.length });
      return;
    }
    if (!(await this.#guard(pod, 'add', () => this.#index.add(null, requestKeys, entries)))) return;
    this.#dedup.trackStore(pod, tier, group, engineKeys);
    this.counters.applied.blockStored++;
    this.counters.blocksStored += engineKeys.length;
  }

  async #removed(pod: string, event: BlockRemoved): Promise<void> {
    const tier = this.#tierOf(event.medium);
    const group = event.groupIdx ?? null;
    if (group !== null) {
      const kind = this.#groupKind(pod, group, null);
      if (kind === null || !INDEXABLE_KINDS.has(kind)) {
        this.#drop('unindexed-group', pod, { group, kind });
        return;
      }
    }
    const evict = this.#dedup.filterRemove(pod, tier, group, event.blockHashes);
    this.counters.removalsSuppressed += event.blockHashes.length - evict.length;
    const entries: PodEntry[] = [{ pod, tier }];
    for (const engineKey of evict) {
      if (await this.#guard(pod, 'evict', () => this.#index.evict(engineKey, 'engine', entries))) this.counters.blocksRemoved++;
    }
    this.counters.applied.blockRemoved++;
  }
}
