/** Which API a request uses. */
export type RequestKind = 'completions' | 'chat-completions' | 'responses' | 'embeddings' | 'other';

/** The prompt in the forms plugins need, derived once per request by the request parser. */
export interface PromptView {
  /**
   * Text used for character-based prefix hashing, as upstream derives it: the prompt string for
   * completions (strings of a list joined), `JSON.stringify(messages)` for chat, the input for
   * responses/embeddings.
   */
  readonly text: string;
  /** Token ids when the client sent them (completions with int[] prompts), else null. */
  readonly tokenIds: readonly number[] | null;
  /** Chat messages when the request is a chat completion, else null. */
  readonly messages: readonly Record<string, unknown>[] | null;
}

/** One inference request on its way through the router. */
export interface InferenceRequest {
  /** `x-request-id` (generated when the client sent none). */
  readonly requestId: string;
  readonly kind: RequestKind;
  /** `model` as the client sent it. */
  readonly incomingModel: string;
  /** Model after objectives/rewrites: what the model server receives in `body.model`. */
  targetModel: string;
  /** The parsed JSON body; the router re-serialises it (with `targetModel`) before forwarding. */
  readonly body: Record<string, unknown>;
  /** Request headers, lower-case names, first value only. */
  readonly headers: Readonly<Record<string, string>>;
  readonly prompt: PromptView;
  /** Priority of the request's objective (0 when none). */
  priority: number;
  /** Objective name from `x-llm-d-inference-objective` (or its alias), if any. */
  readonly objective: string | null;
  /** Fairness id from `x-llm-d-inference-fairness-id` (default `default-flow`). */
  readonly fairnessId: string;
  /** `max_tokens` / `max_completion_tokens` / `max_output_tokens` when given. */
  readonly maxTokens: number | null;
  /** Rough prompt size in tokens (characters ÷ 4, or the token-id count) for load estimates. */
  readonly estimatedInputTokens: number;
  /** Size of the body in bytes (for flow-control byte limits). */
  readonly bodyBytes: number;
  /** When the router received the request (ms, performance.now clock). */
  readonly receivedAt: number;
}
