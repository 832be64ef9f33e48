import {
  FALLBACK_TOKENIZER,
  PrefixTokenCache,
  resolveBundledTokenizer,
  TokenizerPool,
  type AsyncTokenizer,
  type ChatMessage,
  type ChatTemplateOptions,
  type PrefixTokenCacheStats,
  type TokenizerSource,
} from '@llmd/tokenizer';
import type { Logger } from 'pino';

/** Turns a request's prompt into token ids for a model, as vLLM would. */
export interface PromptTokens {
  /** Prompt text encoded with the tokenizer's special tokens, as vLLM completions encode it (send token_ids for exact control). */
  encodePrompt(model: string, text: string): Promise<number[]>;
  /** Chat messages rendered by the model's chat template with the generation prompt, then encoded (no extra special tokens). */
  encodeChat(model: string, messages: ChatMessage[], options?: Omit<ChatTemplateOptions, 'addGenerationPrompt'>): Promise<number[]>;
}

/** Options of {@link PromptTokenizers}. */
export interface PromptTokenizersOptions {
  /** A tokenizer folder used for every model; null picks the bundled tokenizer by model name. */
  readonly tokenizerPath: string | null;
  /** Worker threads per tokenizer. */
  readonly poolSize: number;
  /** Tokens held by each tokenizer's prefix token cache (0: no cache). */
  readonly prefixCacheTokens: number;
  readonly logger: Logger;
  /** Starts the worker pool of a source (tests replace it). */
  readonly createPool?: (source: TokenizerSource, size: number) => Promise<AsyncTokenizer & { close(): Promise<void> }>;
}

interface Loaded {
  readonly pool: AsyncTokenizer & { close(): Promise<void> };
  readonly cache: PrefixTokenCache;
  /** Special tokens the tokenizer puts before a prompt (Llama 3's BOS; none for Qwen3). */
  readonly leading: readonly number[];
}

/**
 * One lazily started {@link TokenizerPool} per tokenizer, each with a {@link PrefixTokenCache}, so
 * prompts are tokenized off the event loop and a shared prefix only once. Models share a pool when
 * they share a tokenizer: with a folder every model uses it; otherwise there is one pool per bundled
 * family (Qwen3, which is also the fallback, and Llama 3), so arbitrary model names never start
 * more than two pools.
 */
export class PromptTokenizers implements PromptTokens, AsyncDisposable {
  readonly #options: PromptTokenizersOptions;
  readonly #loaded = new Map<string, Promise<Loaded>>();
  readonly #caches = new Set<PrefixTokenCache>();
  #closed = false;

  constructor(options: PromptTokenizersOptions) {
    this.#options = options;
  }

  /** Which tokenizer (and pool) serves a model. */
  sourceFor(model: string): { key: string; source: TokenizerSource } {
    if (this.#options.tokenizerPath !== null) return { key: `path:${this.#options.tokenizerPath}`, source: { path: this.#options.tokenizerPath } };
    const family = resolveBundledTokenizer(model) ?? FALLBACK_TOKENIZER;
    // A model name that resolves to the family: the pool loads the family's files.
    return { key: family, source: { model: family === 'llama3' ? 'meta-llama/Llama-3.1-8B-Instruct' : 'Qwen/Qwen3-0.6B' } };
  }

  /**
   * {@inheritDoc PromptTokens.encodePrompt}
   * With the tokenizer's special tokens, as vLLM's completions endpoint encodes a prompt (Llama 3 adds
   * its BOS token, Qwen3 none): the leading special tokens are computed once, the text goes through
   * the prefix cache without them.
   */
  async encodePrompt(model: string, text: string): Promise<number[]> {
    const { cache, leading } = await this.#load(model);
    const tokens = await cache.encode(text);
    return leading.length === 0 ? tokens : [...leading, ...tokens];
  }

  /** {@inheritDoc PromptTokens.encodeChat} */
  async encodeChat(model: string, messages: ChatMessage[], options: Omit<ChatTemplateOptions, 'addGenerationPrompt'> = {}): Promise<number[]> {
    const { pool, cache } = await this.#load(model);
    // encodeChat is encode(render(messages), no special tokens): render in a worker, encode through the cache.
    const text = await pool.applyChatTemplate(messages, { ...options, addGenerationPrompt: true });
    return cache.encode(text);
  }

  /** Prefix-cache counters summed over the started tokenizers. */
  prefixCacheStats(): PrefixTokenCacheStats {
    const sum = { hits: 0, misses: 0, reusedTokens: 0, entries: 0, tokens: 0 };
    for (const cache of this.#caches) {
      const s = cache.stats();
      sum.hits += s.hits;
      sum.misses += s.misses;
      sum.reusedTokens += s.reusedTokens;
      sum.entries += s.entries;
      sum.tokens += s.tokens;
    }
    return sum;
  }

  /** Stops every worker pool; later calls fail. */
  async close(): Promise<void> {
    this.#closed = true;
    const loaded = await Promise.allSettled(this.#loaded.values());
    await Promise.all(loaded.map((r) => (r.status === 'fulfilled' ? r.value.pool.close() : undefined)));
  }

  /** Same as {@link close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #load(model: string): Promise<Loaded> {
    const { key, source } = this.sourceFor(model);
    let loading = this.#loaded.get(key);
    if (loading === undefined) {
      if (this.#closed) return Promise.reject(new Error('tokenizers are closed'));
      const { poolSize, prefixCacheTokens, logger } = this.#options;
      const create = this.#options.createPool ?? ((s: TokenizerSource, size: number) => TokenizerPool.create({ source: s, size }));
      loading = create(source, poolSize).then(async (pool) => {
        const cache = new PrefixTokenCache((text) => pool.encode(text, { addSpecialTokens: false }), { maxTokens: prefixCacheTokens });
        const leading = await pool.encode('', { addSpecialTokens: true });
        this.#caches.add(cache);
        logger.info({ tokenizer: pool.name, workers: poolSize }, 'tokenizer started');
        return { pool, cache, leading };
      });
      // A failed start is not cached: the next request tries again.
      loading.catch((err: unknown) => {
        this.#loaded.delete(key);
        logger.error({ err, tokenizer: key }, 'starting the tokenizer failed');
      });
      this.#loaded.set(key, loading);
    }
    return loading;
  }
}
