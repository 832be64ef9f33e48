import { status as GrpcStatus } from '@grpc/grpc-js';
import { OpenAIHttpError, zodErrorToOpenAIError } from '@llmd/api';
import { TokenizerError } from '@llmd/tokenizer';
import { ZodError } from 'zod';

/** Every error the indexer answers with: its HTTP status, its gRPC status and what it means. */
export const ERROR_CATALOGUE = {
  invalid_request: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, meaning: 'The body or message is malformed; the message names the field.' },
  chat_template_error: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, meaning: 'The chat template could not render these messages (or the tokenizer has none).' },
  tokenizer_unavailable: { http: 503, grpc: GrpcStatus.UNAVAILABLE, meaning: 'The tokenizer could not be loaded or its workers failed; retry later.' },
  index_unavailable: { http: 503, grpc: GrpcStatus.UNAVAILABLE, meaning: 'The index backend (Redis) did not answer; retry later.' },
  internal: { http: 500, grpc: GrpcStatus.INTERNAL, meaning: 'A bug: the cause is logged.' },
} as const satisfies Record<string, { http: number; grpc: GrpcStatus; meaning: string }>;

/** A code of {@link ERROR_CATALOGUE}. */
export type IndexerErrorCode = keyof typeof ERROR_CATALOGUE;

/** An error the indexer answers with; `param` names the request field at fault. */
export class IndexerError extends Error {
  override readonly name = 'IndexerError';
  readonly code: IndexerErrorCode;
  readonly param: string | null;

  constructor(code: IndexerErrorCode, message: string, options: { param?: string | null; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.param = options.param ?? null;
  }
}

/** Thrown by an index backend call (so a Redis failure is told apart from a bug). */
export function indexUnavailable(cause: unknown): IndexerError {
  return new IndexerError('index_unavailable', `index backend failed: ${(cause as Error)?.message ?? String(cause)}`, { cause });
}

/** Turns anything thrown while serving a request into an {@link IndexerError}, keeping the original as `cause`. */
export function toIndexerError(err: unknown): IndexerError {
  if (err instanceof IndexerError) return err;
  if (err instanceof ZodError) {
    const openai = zodErrorToOpenAIError(err);
    return new IndexerError('invalid_request', openai.message, { param: openai.param, cause: err });
  }
  if (err instanceof OpenAIHttpError && err.status === 400) return new IndexerError('invalid_request', err.message, { param: err.param, cause: err });
  if (err instanceof TokenizerError) {
    switch (err.code) {
      case 'CHAT_TEMPLATE_MISSING':
      case 'CHAT_TEMPLATE_ERROR':
        return new IndexerError('chat_template_error', err.message, { param: 'messages', cause: err });
      case 'INVALID_INPUT':
        return new IndexerError('invalid_request', err.message, { cause: err });
      default:
        return new IndexerError('tokenizer_unavailable', err.message, { cause: err });
    }
  }
  return new IndexerError('internal', 'internal error', { cause: err });
}

/** The HTTP answer for an error: status and OpenAI-style body, `code` being the catalogue code. */
export function toHttpError(err: unknown): OpenAIHttpError {
  const e = toIndexerError(err);
  return new OpenAIHttpError(ERROR_CATALOGUE[e.code].http, e.message, { param: e.param, code: e.code, cause: e });
}

/** The gRPC answer for an error: status code and details (`<code>: <message>`). */
export function toGrpcError(err: unknown): { code: GrpcStatus; details: string } {
  const e = toIndexerError(err);
  return { code: ERROR_CATALOGUE[e.code].grpc, details: `${e.code}: ${e.message}` };
}
