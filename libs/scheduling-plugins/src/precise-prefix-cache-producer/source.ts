import type { ChatMessage, TokenizerPool } from '@llmd/tokenizer';
import type { InferenceRequest } from '@llmd/scheduling';

/** What a precise prefix source answers for one request. */
export interface PrefixScores {
  /** Tier-weighted length, in blocks, of the consecutive prefix each endpoint holds (absent = none). */
  readonly scores: ReadonlyMap<string, number>;
  /** Full blocks of the request at the source's block size. */
  readonly totalBlocks: number;
  readonly blockSize: number;
}

/** Where the precise producer gets its scores: an index in this process, or a kv-indexer service. */
export interface PrefixScoreSource {
  score(req: InferenceRequest, pods: readonly string[]): Promise<PrefixScores>;
  /** Marks the blocks of `req` as held by `pod` until the engine's events confirm it (embedded only). */
  speculate?(req: InferenceRequest, pod: string, ttlMs: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * The token ids an engine hashes for a request: the client's ids when it sent ids, chat messages
 * rendered through the model's chat template with the generation prompt, otherwise the prompt text
 * with the tokenizer's special tokens (vLLM's completions default).
 */
export async function requestTokenIds(req: InferenceRequest, tokenizer: () => Promise<TokenizerPool>): Promise<readonly number[]> {
  if (req.prompt.tokenIds) return req.prompt.tokenIds;
  const pool = await tokenizer();
  if (req.prompt.messages) return pool.encodeChat(req.prompt.messages as unknown as ChatMessage[], { addGenerationPrompt: true });
  return pool.encode(req.prompt.text, { addSpecialTokens: true });
}

/**
 * Asks a kv-indexer service (`POST <url>/v1/scores`) for the scores; it tokenizes the prompt itself
 * unless the client sent token ids. Errors propagate: the producer treats them as "no prefix known".
 */
export class RemoteIndexerSource implements PrefixScoreSource {
  readonly #url: string;
  readonly #blockSize: number;
  readonly #timeoutMs: number;

  constructor(url: string, blockSize: number, timeoutMs: number) {
    this.#url = url.replace(/\/+$/, '');
    this.#blockSize = blockSize;
    this.#timeoutMs = timeoutMs;
  }

  async score(req: InferenceRequest, pods: readonly string[]): Promise<PrefixScores> {
    const body: Record<string, unknown> = { model: req.targetModel, pods };
    if (req.prompt.tokenIds) body.token_ids = req.prompt.tokenIds;
    else if (req.prompt.messages) body.messages = req.prompt.messages;
    else body.prompt = req.prompt.text;
    const res = await fetch(`${this.#url}/v1/scores`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(this.#timeoutMs),
    });
    if (!res.ok) throw new Error(`kv-indexer answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
    const json = (await res.json()) as { scores?: Record<string, number>; total_blocks?: number };
    const scores = new Map(Object.entries(json.scores ?? {}));
    const estimatedTokens = req.prompt.tokenIds?.length ?? req.estimatedInputTokens;
    return { scores, totalBlocks: json.total_blocks ?? Math.floor(estimatedTokens / this.#blockSize), blockSize: this.#blockSize };
  }

  /** Nothing to release: every call opens and finishes its own HTTP request. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}
