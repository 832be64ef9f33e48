// The nixlv2 connector's request rewriting (vLLM's NixlConnector), as pure functions over the
// client's JSON body: what the prefill leg sends, and what the decode leg sends after it.
import { prefillLegKvTransferParams } from '@llmd/api';

/** The OpenAI endpoints the sidecar disaggregates. */
export type ApiType = 'completions' | 'chat_completions';

/** Path → API, for the two paths the sidecar disaggregates (upstream's `api_type` label values). */
export const DISAGGREGATED_PATHS: ReadonlyMap<string, ApiType> = new Map([
  ['/v1/completions', 'completions'],
  ['/v1/chat/completions', 'chat_completions'],
]);

/** A JSON request body. */
export type JsonObject = Record<string, unknown>;

/**
 * The prefill leg's body: the client's request computing one token and no stream, with
 * `kv_transfer_params` asking the prefiller to keep the KV for a remote decode. `max_tokens` is 1
 * (and `max_completion_tokens` 1 for chat, the field chat clients use); `stream_options` goes, and
 * so does `min_tokens`, which a model server rejects above `max_tokens`.
 */
export function prefillBody(original: JsonObject, api: ApiType): JsonObject {
  const body: JsonObject = { ...original, kv_transfer_params: prefillLegKvTransferParams(), stream: false, max_tokens: 1 };
  if (api === 'chat_completions') body['max_completion_tokens'] = 1;
  delete body['stream_options'];
  delete body['min_tokens'];
  return body;
}

/**
 * The decode leg's body: the client's request as sent (its `stream`, `stream_options` and token
 * limits untouched) carrying the prefiller's `kv_transfer_params`, or null when the prefiller
 * returned none (the decoder then computes the prompt itself).
 */
export function decodeBody(original: JsonObject, prefillerKvTransferParams: unknown): JsonObject {
  return { ...original, kv_transfer_params: prefillerKvTransferParams ?? null };
}

/** The `kv_transfer_params` of a prefiller's JSON answer, or undefined when absent. */
export function returnedKvTransferParams(prefillAnswer: unknown): unknown {
  if (typeof prefillAnswer !== 'object' || prefillAnswer === null || Array.isArray(prefillAnswer)) return undefined;
  return (prefillAnswer as JsonObject)['kv_transfer_params'] ?? undefined;
}

/** Parses a request body; null when it is not a JSON object. */
export function parseJsonObject(body: Buffer): JsonObject | null {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    return null;
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JsonObject) : null;
}
