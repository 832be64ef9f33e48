import { z } from 'zod';

/** How a value's JSON type is named in error messages, in the words zod itself uses ("received number"). */
export function describeInput(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/**
 * A union whose failure message lists the accepted shapes. zod's own union message is a bare
 * "Invalid input", which tells a client nothing about what the field wants.
 */
export function unionOf<const T extends readonly [z.ZodType, z.ZodType, ...z.ZodType[]]>(
  expected: string,
  options: T,
): z.ZodUnion<T> {
  return z.union(options, {
    error: (issue) => `Invalid input: expected ${expected}, received ${describeInput(issue.input)}`,
  });
}

/** A token id as vLLM accepts it in prompts and `stop_token_ids`: a non-negative integer. */
export const tokenIdSchema = z.number().int().nonnegative();

/** A token count a client may cap (`max_tokens`, `min_tokens`, …): a non-negative integer. */
export const tokenCountSchema = z.number().int().nonnegative();

/** `stop`: one stop string, several, or null. */
export const stopSchema = unionOf('string or array of strings', [z.string(), z.array(z.string())]).nullish();

/** `stream_options`; `continuous_usage_stats` is vLLM's extension that puts usage on every chunk. */
export const streamOptionsSchema = z.looseObject({
  include_usage: z.boolean().nullish(),
  continuous_usage_stats: z.boolean().nullish(),
});

/** Parsed `stream_options`. */
export type StreamOptions = z.infer<typeof streamOptionsSchema>;

/**
 * `cache_hit_threshold`: the fraction of the prompt that must already be cached; below it
 * llm-d-inference-sim ends the request with `finish_reason: cache_threshold`.
 */
export const cacheHitThresholdSchema = z.number().min(0).max(1).nullish();

/**
 * Sampling and scheduling fields that completions and chat completions share, with the types
 * vLLM's OpenAI server enforces. Spread into each request schema.
 */
export const sharedGenerationFields = {
  model: z.string().min(1),
  max_tokens: tokenCountSchema.nullish(),
  temperature: z.number().nonnegative().nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  top_k: z.number().int().nullish(),
  min_p: z.number().min(0).max(1).nullish(),
  frequency_penalty: z.number().nullish(),
  presence_penalty: z.number().nullish(),
  repetition_penalty: z.number().gt(0).nullish(),
  n: z.number().int().min(1).nullish(),
  stream: z.boolean().nullish(),
  stream_options: streamOptionsSchema.nullish(),
  stop: stopSchema,
  stop_token_ids: z.array(tokenIdSchema).nullish(),
  seed: z.number().int().nullish(),
  ignore_eos: z.boolean().optional(),
  min_tokens: tokenCountSchema.optional(),
  user: z.string().nullish(),
  priority: z.number().int().optional(),
  cache_salt: z.string().min(1).nullish(),
  cache_hit_threshold: cacheHitThresholdSchema,
} as const;
