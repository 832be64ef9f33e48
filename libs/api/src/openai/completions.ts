import { z } from 'zod';
import { sharedGenerationFields } from './common.js';
import { kvTransferParamsSchema } from './kv-transfer.js';
import type { KvTransferParams } from './kv-transfer.js';
import { promptInputSchema } from './prompt-input.js';
import type { FinishReason, Usage } from './usage.js';

/**
 * Body of `POST /v1/completions`. Unknown keys are kept: clients send vLLM and vendor extensions
 * the stack must forward untouched.
 */
export const completionRequestSchema = z.looseObject({
  ...sharedGenerationFields,
  prompt: promptInputSchema,
  echo: z.boolean().nullish(),
  logprobs: z.number().int().nonnegative().nullish(),
  suffix: z.string().nullish(),
  kv_transfer_params: kvTransferParamsSchema.nullish(),
});

/** A parsed `/v1/completions` body. */
export type CompletionRequest = z.infer<typeof completionRequestSchema>;

/** Log-probabilities of a text completion choice (the legacy OpenAI layout). */
export interface CompletionLogprobs {
  tokens: string[];
  token_logprobs: Array<number | null>;
  top_logprobs: Array<Record<string, number> | null>;
  text_offset: number[];
}

/** One choice of a text completion, whole or streamed. */
export interface CompletionChoice {
  index: number;
  text: string;
  logprobs: CompletionLogprobs | null;
  /** `null` on every streamed chunk but the last of the choice. */
  finish_reason: FinishReason | null;
  /** vLLM: the stop string or token id that ended generation, if any. */
  stop_reason?: string | number | null;
}

/** Response of `POST /v1/completions` without streaming. */
export interface CompletionResponse {
  id: string;
  object: 'text_completion';
  created: number;
  model: string;
  choices: CompletionChoice[];
  usage: Usage;
  /** Set by a P/D prefiller: what the decode leg must send on. */
  kv_transfer_params?: KvTransferParams | null;
  system_fingerprint?: string | null;
}

/** One SSE `data:` event of a streamed completion; the stream ends with `data: [DONE]`. */
export interface CompletionChunk {
  id: string;
  /** Streamed text completions reuse the non-streaming object name. */
  object: 'text_completion';
  created: number;
  model: string;
  choices: CompletionChoice[];
  /** Only on the final chunk, and only when `stream_options.include_usage` was set. */
  usage?: Usage | null;
}
