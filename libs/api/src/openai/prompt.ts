import type { ChatCompletionRequest, ChatMessage } from './chat.js';
import { chatCompletionRequestSchema } from './chat.js';
import { completionRequestSchema } from './completions.js';
import { contentText } from './content.js';
import { embeddingRequestSchema } from './embeddings.js';
import type { PromptInput } from './prompt-input.js';
import type { ResponsesRequest } from './responses.js';
import { responsesRequestSchema } from './responses.js';

/** One prompt of a completion request: text to tokenize, or token ids sent as they are. */
export type PromptPart = { text: string } | { tokenIds: number[] };

/**
 * Normalises the four prompt shapes into one list, one entry per prompt (a `string[]` or
 * `number[][]` prompt is a batch). Token-id arrays are shared with the body, not copied.
 * Embedding inputs have the same shapes: pass `{ prompt: body.input }`.
 */
export function completionPromptParts(body: { readonly prompt: PromptInput }): PromptPart[] {
  const prompt = body.prompt;
  if (typeof prompt === 'string') return [{ text: prompt }];
  if (prompt.length === 0) return [];
  const first = prompt[0];
  if (typeof first === 'string') return (prompt as string[]).map((text) => ({ text }));
  if (typeof first === 'number') return [{ tokenIds: prompt as number[] }];
  return (prompt as number[][]).map((tokenIds) => ({ tokenIds }));
}

/**
 * The conversation of a chat or Responses request as chat messages. For the Responses API,
 * `instructions` become a leading system message, a string `input` one user message, and only
 * message items are kept (tool calls and their outputs are not prompt text the router scores).
 */
export function chatMessagesOf(
  body: Pick<ChatCompletionRequest, 'messages'> | Pick<ResponsesRequest, 'input' | 'instructions'>,
): ChatMessage[] {
  if ('messages' in body) return body.messages;
  const messages: ChatMessage[] = [];
  if (typeof body.instructions === 'string') messages.push({ role: 'system', content: body.instructions });
  if (typeof body.input === 'string') {
    messages.push({ role: 'user', content: body.input });
    return messages;
  }
  for (const item of body.input) {
    if (item.type !== undefined && item.type !== 'message') continue;
    if (item.role === undefined) continue;
    messages.push({ role: item.role, content: item.content ?? null });
  }
  return messages;
}

/** The text of one chat message: string content, or its text parts joined by newlines. */
export function chatMessageText(message: Pick<ChatMessage, 'content'>): string {
  return contentText(message.content);
}

/** The OpenAI-compatible request kinds the router schedules and the simulator serves. */
export type RequestKind = 'completions' | 'chat-completions' | 'embeddings' | 'responses';

/** The path of each {@link RequestKind}. */
export const REQUEST_PATHS: Readonly<Record<RequestKind, string>> = {
  completions: '/v1/completions',
  'chat-completions': '/v1/chat/completions',
  embeddings: '/v1/embeddings',
  responses: '/v1/responses',
};

const KIND_BY_PATH: ReadonlyMap<string, RequestKind> = new Map(
  Object.entries(REQUEST_PATHS).map(([kind, path]) => [path, kind as RequestKind]),
);

/**
 * The request kind a path serves, or null for any other path. A query string is ignored; the
 * match is otherwise exact (case-sensitive, no trailing slash), like the model servers' routes.
 */
export function requestKindOf(path: string): RequestKind | null {
  const query = path.indexOf('?');
  return KIND_BY_PATH.get(query === -1 ? path : path.slice(0, query)) ?? null;
}

/** The body schema of each {@link RequestKind}. */
export const REQUEST_SCHEMAS = {
  completions: completionRequestSchema,
  'chat-completions': chatCompletionRequestSchema,
  embeddings: embeddingRequestSchema,
  responses: responsesRequestSchema,
} as const satisfies Record<RequestKind, unknown>;
