/** Machine-readable reasons a tokenizer operation can fail. */
export type TokenizerErrorCode =
  /** The tokenizer folder or its tokenizer.json does not exist. */
  | 'TOKENIZER_NOT_FOUND'
  /** The tokenizer files exist but cannot be read, parsed or turned into a tokenizer. */
  | 'TOKENIZER_INVALID'
  /** The tokenizer has no chat template, so chat messages cannot be rendered. */
  | 'CHAT_TEMPLATE_MISSING'
  /** The chat template failed to compile or render (including `raise_exception` in the template). */
  | 'CHAT_TEMPLATE_ERROR'
  /** The caller passed something malformed: a source, a message, a token id, a template kwarg. */
  | 'INVALID_INPUT'
  /** The worker pool was closed before or while the request ran. */
  | 'POOL_CLOSED'
  /** A worker thread of the pool failed or exited unexpectedly. */
  | 'WORKER_FAILED';

const CODES: ReadonlySet<string> = new Set<TokenizerErrorCode>([
  'TOKENIZER_NOT_FOUND',
  'TOKENIZER_INVALID',
  'CHAT_TEMPLATE_MISSING',
  'CHAT_TEMPLATE_ERROR',
  'INVALID_INPUT',
  'POOL_CLOSED',
  'WORKER_FAILED',
]);

/** The one error type this library throws; `code` says why, `cause` keeps the underlying error. */
export class TokenizerError extends Error {
  /** Why the operation failed. */
  readonly code: TokenizerErrorCode;

  constructor(code: TokenizerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TokenizerError';
    this.code = code;
  }
}

/** Whether a string is one of the known error codes (used when an error crosses a worker boundary). */
export function isTokenizerErrorCode(value: unknown): value is TokenizerErrorCode {
  return typeof value === 'string' && CODES.has(value);
}

/** Turns anything thrown into a TokenizerError, wrapping foreign errors under `fallback` and keeping them as `cause`. */
export function toTokenizerError(err: unknown, fallback: TokenizerErrorCode, context: string): TokenizerError {
  if (err instanceof TokenizerError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new TokenizerError(fallback, `${context}: ${detail}`, { cause: err });
}
