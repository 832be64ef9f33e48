import { silentLogger } from '@llmd/observability';
import type { ChatMessage, ChatTemplateOptions } from '@llmd/tokenizer';
import { IndexerMetrics, NO_INGEST } from '../metrics.js';
import { ScoringService, type PodScorer } from '../scoring.js';
import type { PromptTokens } from '../tokenization/prompt-tokenizers.js';

/** One call the fake scorer received. */
export interface ScoreCall {
  tokens: number[];
  model: string;
  pods: readonly string[] | undefined;
  loraName: string | null | undefined;
}

/** A scorer that answers fixed scores (or throws) and records its calls. */
export class FakeScorer implements PodScorer {
  readonly calls: ScoreCall[] = [];
  scores = new Map<string, number>();
  failure: Error | null = null;

  async scoreTokens(tokens: ArrayLike<number>, model: string, options: { pods?: readonly string[]; loraName?: string | null } = {}): Promise<Map<string, number>> {
    this.calls.push({ tokens: Array.from(tokens), model, pods: options.pods, loraName: options.loraName });
    if (this.failure) throw this.failure;
    return this.scores;
  }
}

/** Tokenizers that turn text into its character codes and record chat calls. */
export class FakeTokens implements PromptTokens {
  readonly chats: Array<{ model: string; messages: ChatMessage[]; options: unknown }> = [];
  failure: Error | null = null;

  async encodePrompt(_model: string, text: string): Promise<number[]> {
    if (this.failure) throw this.failure;
    return [...text].map((c) => c.codePointAt(0) as number);
  }

  async encodeChat(model: string, messages: ChatMessage[], options?: Omit<ChatTemplateOptions, 'addGenerationPrompt'>): Promise<number[]> {
    if (this.failure) throw this.failure;
    this.chats.push({ model, messages, options });
    return [messages.length, 0];
  }
}

/** A scoring service over fakes, with real metrics. */
export function fakeScoring(backend = 'memory') {
  const scorer = new FakeScorer();
  const tokens = new FakeTokens();
  const metrics = new IndexerMetrics({
    indexStats: async () => ({ blocks: 7, entries: 9 }),
    prefixCacheStats: () => ({ hits: 3, misses: 4, reusedTokens: 5, entries: 1, tokens: 2 }),
    ingestStats: () => NO_INGEST,
  });
  const scoring = new ScoringService({ scorer, tokenizers: tokens, metrics, backend });
  return { scorer, tokens, metrics, scoring, logger: silentLogger() };
}
