import { requestBlockKeyWords, requestBlockKeys } from '@llmd/kv-cache';
import type { BlockKey, KvBlockIndex } from './index/types.js';
import { DEFAULT_TIER_WEIGHTS, longestPrefixScores } from './scoring/longest-prefix.js';

/** How the indexer turns tokens into request keys and scores. */
export interface KvIndexerOptions {
  readonly index: KvBlockIndex;
  /** Tokens per request key block (llm-d `blockSizeTokens`, default 16). */
  readonly blockSize?: number;
  /** Seed of the request-key chain (llm-d `hashSeed`, default ""). */
  readonly hashSeed?: string;
  readonly tierWeights?: Readonly<Record<string, number>>;
}

/** What a score request may add to the tokens. */
export interface ScoreOptions {
  /** Only these endpoints (`ip:port`); all when absent. */
  readonly pods?: readonly string[];
  /** LoRA adapter name: it takes the model's place in the key root, as on the event side. */
  readonly loraName?: string | null;
}

/**
 * The indexer's read side (upstream `kvcache.Indexer.ScoreTokens`): request keys from tokens,
 * an index lookup, and the longest-consecutive-prefix score per endpoint, tier-weighted.
 */
export class KvIndexer {
  readonly index: KvBlockIndex;
  readonly blockSize: number;
  readonly hashSeed: string;
  readonly tierWeights: Readonly<Record<string, number>>;

  constructor(options: KvIndexerOptions) {
    this.index = options.index;
    this.blockSize = options.blockSize ?? 16;
    this.hashSeed = options.hashSeed ?? '';
    this.tierWeights = options.tierWeights ?? DEFAULT_TIER_WEIGHTS;
  }

  /** The request keys of a token sequence for a model (full blocks only). */
  blockKeys(tokens: ArrayLike<number>, model: string): BlockKey[] {
    return requestBlockKeys(tokens, { blockSize: this.blockSize, hashSeed: this.hashSeed, modelName: model });
  }

  /**
   * Scores every endpoint holding a prefix of `tokens`: the tier-weighted count of consecutive blocks
   * from the first. Endpoints holding none are absent from the result.
   */
  async scoreTokens(tokens: ArrayLike<number>, model: string, options: ScoreOptions = {}): Promise<Map<string, number>> {
    const pods = options.pods && options.pods.length > 0 ? new Set(options.pods) : undefined;
    if (this.index.scorePrefixWords) {
      // The in-memory fast path: keys as 32-bit words from start to finish, no bigint per block.
      const words = requestBlockKeyWords(tokens, { blockSize: this.blockSize, hashSeed: this.hashSeed, modelName: options.loraName ?? model });
      return words.length === 0 ? new Map() : this.index.scorePrefixWords(words, this.tierWeights, pods);
    }
    const keys = this.blockKeys(tokens, options.loraName ?? model);
    if (keys.length === 0) return new Map();
    if (this.index.scorePrefix) return this.index.scorePrefix(keys, this.tierWeights, pods);
    const found = await this.index.lookup(keys, pods);
    return longestPrefixScores(found, this.tierWeights);
  }
}
