import { z } from 'zod';

/**
 * Token accounting on responses and on the last streamed chunk (when the client set
 * `stream_options.include_usage`). The router reads it to feed its token metrics.
 */
export const usageSchema = z.looseObject({
  prompt_tokens: z.number().int().nonnegative(),
  completion_tokens: z.number().int().nonnegative().nullish(),
  total_tokens: z.number().int().nonnegative(),
  prompt_tokens_details: z.looseObject({ cached_tokens: z.number().int().nonnegative() }).nullish(),
});

/** Parsed `usage`. */
export type Usage = z.infer<typeof usageSchema>;

/**
 * Finish reasons vLLM and llm-d-inference-sim emit: `remote_decode` ends a P/D prefill leg,
 * `cache_threshold` a request whose cached fraction fell below `cache_hit_threshold`.
 */
export const FINISH_REASONS = ['stop', 'length', 'tool_calls', 'remote_decode', 'cache_threshold'] as const;

/** One of {@link FINISH_REASONS}. */
export type FinishReason = (typeof FINISH_REASONS)[number];
