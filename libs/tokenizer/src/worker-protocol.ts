import type { ChatMessage, ChatTemplateOptions, DecodeOptions, EncodeOptions, TokenizerSource } from './types.js';

/** What the pool hands a new worker through `workerData`. */
export interface WorkerInit {
  source: TokenizerSource;
  /** Only when running from TypeScript source: the URL of worker.ts for the bootstrap to import. */
  entry?: string;
}

/** A request from the pool to a worker; `id` pairs it with its reply. */
export type WorkerRequest =
  | { id: number; op: 'encode'; text: string; opts?: EncodeOptions }
  | { id: number; op: 'decode'; ids: readonly number[]; opts?: DecodeOptions }
  | { id: number; op: 'applyChatTemplate'; messages: ChatMessage[]; opts?: ChatTemplateOptions }
  | { id: number; op: 'encodeChat'; messages: ChatMessage[]; opts?: ChatTemplateOptions };

/** An error as it crosses the thread boundary (Error objects lose their class when cloned). */
export interface SerializedError {
  code: string;
  message: string;
}

/** Messages from a worker: start-up outcome, then one reply per request. */
export type WorkerMessage =
  | { kind: 'ready'; name: string; vocabSize: number }
  | { kind: 'failed'; error: SerializedError }
  | { kind: 'reply'; id: number; ok: true; value: unknown }
  | { kind: 'reply'; id: number; ok: false; error: SerializedError };
