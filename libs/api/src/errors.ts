import { z } from 'zod';

/**
 * The OpenAI error `type` for each status that has its own, as llm-d-inference-sim names them
 * (`pkg/api/response.go` `ErrorCodeToType`, after the error classes of the `openai` npm client).
 */
export const OPENAI_ERROR_TYPES: Readonly<Record<number, string>> = {
  400: 'BadRequestError',
  401: 'AuthenticationError',
  403: 'PermissionDeniedError',
  404: 'NotFoundError',
  422: 'UnprocessableEntityError',
  429: 'RateLimitError',
};

/**
 * The error `type` for a status. Statuses without their own type fall back as the simulator does:
 * every 5xx (503 included) is `InternalServerError`, any other status `APIConnectionError`.
 */
export function openAIErrorTypeFor(status: number): string {
  return OPENAI_ERROR_TYPES[status] ?? (status >= 500 ? 'InternalServerError' : 'APIConnectionError');
}

/** The error body vLLM and llm-d-inference-sim return: `{error: {message, type, param, code}}`. */
export const openAIErrorBodySchema = z.looseObject({
  error: z.looseObject({
    message: z.string(),
    type: z.string(),
    param: z.string().nullish(),
    code: z.union([z.number(), z.string()]).nullish(),
  }),
});

/** The error body as this stack writes it: `code` is the HTTP status unless a caller overrides it. */
export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: number | string | null };
}

/** Options of {@link OpenAIHttpError}. */
export interface OpenAIHttpErrorOptions {
  /** The request field at fault, as a dotted path (`messages.0.content`). */
  param?: string | null;
  /** Overrides the default code, the numeric status. */
  code?: number | string | null;
  /** Overrides the type derived from the status. */
  type?: string;
  cause?: unknown;
}

/** An error that a server answers with an HTTP status and an OpenAI error body. */
export class OpenAIHttpError extends Error {
  /** The HTTP status, 400–599. */
  readonly status: number;
  /** The OpenAI error type, e.g. `BadRequestError`. */
  readonly type: string;
  /** The request field at fault, or null. */
  readonly param: string | null;
  /** What goes in `error.code`; the status unless overridden. */
  readonly code: number | string | null;

  constructor(status: number, message: string, options: OpenAIHttpErrorOptions = {}) {
    if (!Number.isInteger(status) || status < 400 || status > 599) {
      throw new RangeError(`status: expected an HTTP error status 400..599, got ${status}`);
    }
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'OpenAIHttpError';
    this.status = status;
    this.type = options.type ?? openAIErrorTypeFor(status);
    this.param = options.param ?? null;
    this.code = options.code === undefined ? status : options.code;
  }

  /** The JSON body to send with {@link OpenAIHttpError.status}. */
  toBody(): OpenAIErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

type Issue = z.core.$ZodIssue;

/** How an issue at the root of the body is labelled, since it has no field path. */
const ROOT_LABEL = 'body';

function depthOf(branch: readonly Issue[]): number {
  let depth = 0;
  for (const issue of branch) depth = Math.max(depth, issue.path.length);
  return depth;
}

/**
 * Follows a failed union into the branch that got furthest: when one branch matched the value's
 * type and failed deeper down (`stop: ["a", 5]` fails the array branch at index 1), that inner
 * issue says far more than the union's own message. Ties go to the branch with fewer issues.
 */
function explain(issue: Issue, prefix: readonly PropertyKey[]): { path: PropertyKey[]; message: string } {
  const path = [...prefix, ...issue.path];
  if (issue.code === 'invalid_union') {
    let best: readonly Issue[] | undefined;
    let bestDepth = 0;
    for (const branch of issue.errors) {
      const depth = depthOf(branch);
      if (depth > bestDepth || (depth === bestDepth && best !== undefined && branch.length < best.length)) {
        best = branch;
        bestDepth = depth;
      }
    }
    const inner = best?.find((candidate) => candidate.path.length === bestDepth);
    if (inner) return explain(inner, path);
  }
  return { path, message: issue.message };
}

/** Formats a field path the way errors name fields: `messages.0.content`. */
export function formatIssuePath(path: readonly PropertyKey[]): string {
  return path.map((key) => String(key)).join('.');
}

/**
 * Turns a validation failure into a 400 whose message names every offending field
 * (`messages.0.role: Invalid input: expected string, received number`) and whose `param` is the
 * first one's path.
 */
export function zodErrorToOpenAIError(error: z.ZodError): OpenAIHttpError {
  const explained = error.issues.map((issue) => explain(issue, []));
  const first = explained[0];
  const message =
    explained.length === 0
      ? 'invalid request'
      : explained.map((e) => `${e.path.length === 0 ? ROOT_LABEL : formatIssuePath(e.path)}: ${e.message}`).join('; ');
  const param = first && first.path.length > 0 ? formatIssuePath(first.path) : null;
  return new OpenAIHttpError(400, message, { param, cause: error });
}

/** Parses `body` with `schema`, or throws the 400 {@link zodErrorToOpenAIError} builds. */
export function parseOr400<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const result = schema.safeParse(body);
  if (!result.success) throw zodErrorToOpenAIError(result.error);
  return result.data;
}

/**
 * Turns anything thrown while serving a request into an {@link OpenAIHttpError}: itself, a 400 for
 * a validation failure, otherwise a 500 whose message does not leak internals; the original error
 * is kept as `cause` for logs.
 */
export function toOpenAIHttpError(error: unknown): OpenAIHttpError {
  if (error instanceof OpenAIHttpError) return error;
  if (error instanceof z.ZodError) return zodErrorToOpenAIError(error);
  return new OpenAIHttpError(500, 'internal server error', { cause: error });
}
