import type { ChatMessage } from '@llmd/tokenizer';
import { indexUnavailable, toIndexerError } from './errors.js';
import type { IndexerMetrics } from './metrics.js';
import type { PromptTokens } from './tokenization/prompt-tokenizers.js';

/** The read side of the index (`KvIndexer` of @llmd/kv-indexing has this shape). */
export interface PodScorer {
  /** Tier-weighted longest-prefix score per endpoint holding the first block; endpoints with none absent. */
  scoreTokens(tokens: ArrayLike<number>, model: string, options?: { pods?: readonly string[]; loraName?: string | null }): Promise<Map<string, number>>;
}

/** What to score: token ids as they are, prompt text, or chat messages to render. */
export type ScoreInput =
  | { readonly kind: 'tokens'; readonly tokenIds: readonly number[] }
  | { readonly kind: 'prompt'; readonly prompt: string }
  | {
      readonly kind: 'messages';
      readonly messages: ChatMessage[];
      readonly tools?: unknown[];
      readonly chatTemplateKwargs?: Record<string, unknown>;
    };

/** One score request, whichever API it came through. */
export interface ScoreQuery {
  /** Model name: selects the tokenizer and roots the block keys. */
  readonly model: string;
  readonly input: ScoreInput;
  /** Only these endpoints; all when absent or empty. */
  readonly pods?: readonly string[];
  /** LoRA adapter: roots the keys in its name instead of the model's, as the event side does. */
  readonly loraName?: string | null;
}

/** Endpoint scores, best first (ties by endpoint name, so answers are stable). */
export type RankedScores = Array<{ pod: string; score: number }>;

/** Options of {@link ScoringService}. */
export interface ScoringServiceOptions {
  readonly scorer: PodScorer;
  readonly tokenizers: PromptTokens;
  readonly metrics: IndexerMetrics;
  /** Index backend name, a metric label; with `redis`, lookup failures answer `index_unavailable`. */
  readonly backend: string;
  /** Tokens per request-key block, to report how many full blocks the prompt has (default 16). */
  readonly blockSize?: number;
}

/** The scores of one query and the number of full blocks its tokens make. */
export interface ScoredQuery {
  readonly ranked: RankedScores;
  readonly totalBlocks: number;
}

/** Tokenizes a query when needed, scores it, and records latency and result metrics. */
export class ScoringService {
  readonly #options: ScoringServiceOptions;

  constructor(options: ScoringServiceOptions) {
    this.#options = options;
  }

  /**
   * Scores a query for one API (`http`, `grpc`): ranked scores and the prompt's full blocks, or a thrown `IndexerError`. The query
   * may be given as the function that validates it, so invalid requests are counted too.
   */
  async score(request: ScoreQuery | (() => ScoreQuery), api: 'http' | 'grpc'): Promise<ScoredQuery> {
    const { metrics } = this.#options;
    try {
      const query = typeof request === 'function' ? request() : request;
      const tokens = await this.#tokens(query);
      const stopLookup = metrics.lookupDuration.startTimer({ backend: this.#options.backend });
      let scores: Map<string, number>;
      try {
        scores = await this.#options.scorer.scoreTokens(tokens, query.model, {
          ...(query.pods && query.pods.length > 0 ? { pods: query.pods } : {}),
          loraName: query.loraName ?? null,
        });
      } catch (err) {
        throw this.#options.backend === 'redis' ? indexUnavailable(err) : err;
      } finally {
        stopLookup();
      }
      metrics.scoreRequests.inc({ api, code: 'ok' });
      const ranked = [...scores].map(([pod, score]) => ({ pod, score })).sort((a, b) => b.score - a.score || (a.pod < b.pod ? -1 : a.pod > b.pod ? 1 : 0));
      return { ranked, totalBlocks: Math.floor(tokens.length / (this.#options.blockSize ?? 16)) };
    } catch (err) {
      const error = toIndexerError(err);
      metrics.scoreRequests.inc({ api, code: error.code });
      throw error;
    }
  }

  async #tokens(query: ScoreQuery): Promise<ArrayLike<number>> {
    const { input, model } = query;
    if (input.kind === 'tokens') return input.tokenIds;
    const stop = this.#options.metrics.tokenizationDuration.startTimer({ kind: input.kind });
    try {
      if (input.kind === 'prompt') return await this.#options.tokenizers.encodePrompt(model, input.prompt);
      return await this.#options.tokenizers.encodeChat(model, input.messages, {
        ...(input.tools ? { tools: input.tools } : {}),
        ...(input.chatTemplateKwargs ? { chatTemplateKwargs: input.chatTemplateKwargs } : {}),
      });
    } finally {
      stop();
    }
  }
}
