import { randomUUID } from 'node:crypto';
import {
  DEFAULT_FAIRNESS_ID,
  FAIRNESS_ID_HEADER,
  headerValue,
  MODEL_NAME_REWRITE_HEADER,
  OBJECTIVE_HEADER,
  REQUEST_ID_HEADER,
  requestKindOf,
} from '@llmd/api';
import { RouterError, type InferenceRequest, type PromptView, type RequestKind } from '@llmd/scheduling';
import type { IncomingRequest } from './types.js';

const KIND: Record<string, RequestKind> = {
  completions: 'completions',
  'chat-completions': 'chat-completions',
  embeddings: 'embeddings',
  responses: 'responses',
};

/** The request kind from the path, or from the body's shape when the path is unknown (ext_proc behind a rewrite). */
function kindOf(path: string, body: Record<string, unknown>): RequestKind {
  const known = requestKindOf(path.split('?')[0] ?? path);
  if (known) return KIND[known] ?? 'other';
  if (Array.isArray(body.messages)) return 'chat-completions';
  if (body.prompt !== undefined) return 'completions';
  if (body.input !== undefined) return 'responses';
  return 'other';
}

function isTokenArray(v: unknown): v is number[] {
  return Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number');
}

/**
 * The prompt as plugins see it. Completions: the prompt string (a list of strings joined with
 * newlines), token ids kept when the client sent ids; chat: the messages, with `text` =
 * `JSON.stringify(messages)` as upstream's approximate prefix cache hashes them; responses and
 * embeddings: their `input`.
 */
export function promptViewOf(kind: RequestKind, body: Record<string, unknown>): PromptView {
  if (Array.isArray(body.messages)) {
    const messages = body.messages.filter((m): m is Record<string, unknown> => !!m && typeof m === 'object');
    return { text: JSON.stringify(body.messages), tokenIds: null, messages };
  }
  const source = kind === 'completions' || body.prompt !== undefined ? body.prompt : body.input;
  if (typeof source === 'string') return { text: source, tokenIds: null, messages: null };
  if (isTokenArray(source)) return { text: source.join(','), tokenIds: source, messages: null };
  if (Array.isArray(source)) {
    if (source.every((s) => typeof s === 'string')) return { text: source.join('\n'), tokenIds: null, messages: null };
    if (source.every(isTokenArray)) {
      const ids = (source as number[][]).flat();
      return { text: ids.join(','), tokenIds: ids, messages: null };
    }
    return { text: JSON.stringify(source), tokenIds: null, messages: null };
  }
  return { text: '', tokenIds: null, messages: null };
}

function maxTokensOf(body: Record<string, unknown>): number | null {
  for (const key of ['max_completion_tokens', 'max_tokens', 'max_output_tokens']) {
    const v = body[key];
    if (typeof v === 'number' && Number.isFinite(v)) return v;
  }
  return null;
}

/** The request id to use: the client's `x-request-id`, or a new UUID. */
export function requestIdOf(headers: Readonly<Record<string, string>>): string {
  return headerValue(headers, REQUEST_ID_HEADER) ?? randomUUID();
}

/**
 * Turns a transport's request into the router's {@link InferenceRequest}: the body must be a JSON
 * object with a string `model` (400 otherwise, with upstream's messages); objective, fairness and
 * rewrite headers are read under their current and deprecated names.
 */
export function parseInferenceRequest(incoming: IncomingRequest & { body: Buffer }, requestId: string, now: number): InferenceRequest {
  let body: unknown;
  try {
    body = JSON.parse(incoming.body.toString('utf8'));
  } catch (cause) {
    throw new RouterError('BadRequest', `error unmarshaling request body: ${(cause as Error).message}`, { cause });
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw new RouterError('BadRequest', 'error unmarshaling request body: expected a JSON object');
  }
  const b = body as Record<string, unknown>;
  if (typeof b.model !== 'string' || b.model === '') throw new RouterError('BadRequest', 'model not found in request body');
  const kind = kindOf(incoming.path, b);
  const prompt = promptViewOf(kind, b);
  const rewrite = headerValue(incoming.headers, MODEL_NAME_REWRITE_HEADER);
  return {
    requestId,
    kind,
    incomingModel: b.model,
    targetModel: rewrite ?? b.model,
    body: b,
    headers: incoming.headers,
    prompt,
    priority: 0,
    objective: headerValue(incoming.headers, OBJECTIVE_HEADER) ?? null,
    fairnessId: headerValue(incoming.headers, FAIRNESS_ID_HEADER) ?? DEFAULT_FAIRNESS_ID,
    maxTokens: maxTokensOf(b),
    estimatedInputTokens: prompt.tokenIds ? prompt.tokenIds.length : Math.ceil(prompt.text.length / 4),
    bodyBytes: incoming.body.byteLength,
    receivedAt: now,
  };
}
