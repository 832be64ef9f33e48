import { z } from 'zod';
import { sharedGenerationFields, tokenCountSchema, unionOf } from './common.js';
import { messageContentSchema } from './content.js';
import { kvTransferParamsSchema } from './kv-transfer.js';
import type { KvTransferParams } from './kv-transfer.js';
import type { FinishReason, Usage } from './usage.js';

/** A tool call an assistant made, as clients replay it in later requests. */
export const toolCallSchema = z.looseObject({
  id: z.string(),
  type: z.string().optional(),
  function: z.looseObject({ name: z.string(), arguments: z.string() }),
});

/** Parsed tool call. */
export type ToolCall = z.infer<typeof toolCallSchema>;

/**
 * One chat message. `role` is any string: system, user, assistant, tool and developer are the
 * usual ones, but chat templates define their own. `content` may be null or absent on an
 * assistant message that only carries `tool_calls`.
 */
export const chatMessageSchema = z.looseObject({
  role: z.string(),
  content: messageContentSchema.nullish(),
  name: z.string().optional(),
  tool_calls: z.array(toolCallSchema).nullish(),
  tool_call_id: z.string().optional(),
});

/** Parsed chat message. */
export type ChatMessage = z.infer<typeof chatMessageSchema>;

/** A tool the model may call. */
export const toolSchema = z.looseObject({
  type: z.string(),
  function: z.looseObject({
    name: z.string(),
    description: z.string().nullish(),
    parameters: z.record(z.string(), z.unknown()).nullish(),
  }),
});

/** `tool_choice`: a mode, or a named function. */
export const toolChoiceSchema = unionOf('"none", "auto", "required" or a named tool', [
  z.enum(['none', 'auto', 'required']),
  z.looseObject({ type: z.string(), function: z.looseObject({ name: z.string() }) }),
]);

/** `response_format`: `text`, `json_object`, `json_schema` or vLLM's `structural_tag`, with their options. */
export const responseFormatSchema = z.looseObject({ type: z.string() });

/** Body of `POST /v1/chat/completions`. Unknown keys are kept and forwarded. */
export const chatCompletionRequestSchema = z.looseObject({
  ...sharedGenerationFields,
  messages: z.array(chatMessageSchema).min(1),
  max_completion_tokens: tokenCountSchema.nullish(),
  tools: z.array(toolSchema).nullish(),
  tool_choice: toolChoiceSchema.nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  response_format: responseFormatSchema.nullish(),
  logprobs: z.boolean().nullish(),
  top_logprobs: z.number().int().nonnegative().nullish(),
  chat_template: z.string().nullish(),
  chat_template_kwargs: z.record(z.string(), z.unknown()).nullish(),
  add_generation_prompt: z.boolean().optional(),
  continue_final_message: z.boolean().optional(),
  kv_transfer_params: kvTransferParamsSchema.nullish(),
});

/** A parsed `/v1/chat/completions` body. */
export type ChatCompletionRequest = z.infer<typeof chatCompletionRequestSchema>;

/** A tool call the model produced; in stream deltas every field but `index` may be missing. */
export interface ToolCallOutput {
  id?: string;
  type?: 'function';
  index?: number;
  function: { name?: string | null; arguments?: string };
}

/** The assistant message of a non-streamed chat choice. */
export interface ChatCompletionMessage {
  role: 'assistant';
  content: string | null;
  tool_calls?: ToolCallOutput[];
  /** vLLM's reasoning parsers put the model's thinking here. */
  reasoning_content?: string | null;
}

/** Log-probabilities of one generated token. */
export interface ChatTokenLogprob {
  token: string;
  logprob: number;
  bytes: number[] | null;
  top_logprobs?: Array<{ token: string; logprob: number; bytes: number[] | null }>;
}

/** Log-probabilities of a chat choice. */
export interface ChatLogprobs {
  content: ChatTokenLogprob[] | null;
}

/** One choice of a chat completion. */
export interface ChatCompletionChoice {
  index: number;
  message: ChatCompletionMessage;
  logprobs?: ChatLogprobs | null;
  finish_reason: FinishReason | null;
  stop_reason?: string | number | null;
}

/** Response of `POST /v1/chat/completions` without streaming. */
export interface ChatCompletionResponse {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: ChatCompletionChoice[];
  usage: Usage;
  /** Set by a P/D prefiller: what the decode leg must send on. */
  kv_transfer_params?: KvTransferParams | null;
  system_fingerprint?: string | null;
}

/** What a streamed chat chunk adds to the message: the role on the first chunk, then content. */
export interface ChatCompletionDelta {
  role?: 'assistant';
  content?: string | null;
  tool_calls?: ToolCallOutput[];
  reasoning_content?: string | null;
}

/** One choice of a streamed chat chunk. */
export interface ChatCompletionChunkChoice {
  index: number;
  delta: ChatCompletionDelta;
  logprobs?: ChatLogprobs | null;
  /** `null` on every chunk but the last of the choice. */
  finish_reason: FinishReason | null;
}

/** One SSE `data:` event of a streamed chat completion; the stream ends with `data: [DONE]`. */
export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  /** Empty on the usage-only chunk that `stream_options.include_usage` adds at the end. */
  choices: ChatCompletionChunkChoice[];
  usage?: Usage | null;
}
