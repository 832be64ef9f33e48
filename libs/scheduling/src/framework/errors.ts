/** Error codes of the router, as upstream's EPP names them. */
export type RouterErrorCode =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'PreconditionFailed'
  | 'ResourceExhausted'
  | 'Internal'
  | 'ServiceUnavailable';

const STATUS: Record<RouterErrorCode, number> = {
  BadRequest: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  PreconditionFailed: 412,
  ResourceExhausted: 429,
  Internal: 500,
  ServiceUnavailable: 503,
};

/** The HTTP (and Envoy ImmediateResponse) status of an error code: the one mapping of the router. */
export function routerErrorStatus(code: RouterErrorCode): number {
  return STATUS[code];
}

/**
 * An error the router answers a request with. `droppedReason` goes into
 * `x-llm-d-request-dropped-reason` (e.g. `rejected-no-endpoints`, `rejected-saturated`).
 */
export class RouterError extends Error {
  readonly code: RouterErrorCode;
  readonly droppedReason: string | null;
  constructor(code: RouterErrorCode, message: string, options?: { cause?: unknown; droppedReason?: string }) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'RouterError';
    this.code = code;
    this.droppedReason = options?.droppedReason ?? null;
  }

  /** HTTP status of this error. */
  get status(): number {
    return routerErrorStatus(this.code);
  }

  /** Upstream's ImmediateResponse body: `inference error: <Code> - <message>`. */
  get wireMessage(): string {
    return `inference error: ${this.code} - ${this.message}`;
  }
}

/** Turns anything thrown into a RouterError, keeping the cause (unknown errors become Internal). */
export function toRouterError(err: unknown): RouterError {
  if (err instanceof RouterError) return err;
  return new RouterError('Internal', err instanceof Error ? err.message : String(err), { cause: err });
}
