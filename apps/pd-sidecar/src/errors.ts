import { OpenAIHttpError } from '@llmd/api';

/**
 * Every error the sidecar itself answers with: its HTTP status and what it means. Errors of the
 * model servers (the prefiller's 4xx/5xx, the decoder's answer) are relayed as they are.
 */
export const ERROR_CATALOGUE = {
  invalid_request: { status: 400, meaning: 'The body is not a JSON object, or x-prefiller-host-port is not host:port.' },
  prefill_target_forbidden: { status: 403, meaning: 'SSRF protection: the prefill target is not in the allowlist.' },
  request_too_large: { status: 413, meaning: 'The body of a disaggregated request is larger than the sidecar buffers.' },
  prefill_failed: { status: 502, meaning: 'The prefill leg got no usable answer: no prefill target accepted the connection within the retries, or the answer was not JSON.' },
  decoder_unavailable: { status: 502, meaning: 'The local model server did not accept the connection.' },
  internal: { status: 500, meaning: 'A bug: the cause is logged.' },
} as const satisfies Record<string, { status: number; meaning: string }>;

/** A code of {@link ERROR_CATALOGUE}. */
export type SidecarErrorCode = keyof typeof ERROR_CATALOGUE;

/** An error the sidecar answers with; the message says what went wrong and where. */
export class SidecarError extends Error {
  override readonly name = 'SidecarError';
  readonly code: SidecarErrorCode;
  readonly param: string | null;

  constructor(code: SidecarErrorCode, message: string, options: { param?: string | null; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.param = options.param ?? null;
  }

  /** HTTP status of this error. */
  get status(): number {
    return ERROR_CATALOGUE[this.code].status;
  }
}

/** Turns anything thrown while serving a request into a {@link SidecarError}, keeping the original as `cause`. */
export function toSidecarError(err: unknown): SidecarError {
  if (err instanceof SidecarError) return err;
  return new SidecarError('internal', 'internal error', { cause: err });
}

/** The wire form of an error: status and OpenAI error body, `code` being the catalogue code. */
export function toHttpError(err: unknown): OpenAIHttpError {
  const e = toSidecarError(err);
  return new OpenAIHttpError(e.status, e.message, { param: e.param, code: e.code, cause: e });
}
