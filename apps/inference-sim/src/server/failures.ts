import { OpenAIHttpError } from '@llmd/api';
import type { FailureType } from '../options.js';

/** What each injected failure answers: status, message and OpenAI error fields, as llm-d-inference-sim. */
const FAILURES: Record<FailureType, { status: number; message: string; param: string | null; code?: string }> = {
  rate_limit: { status: 429, message: 'Rate limit reached for requests (injected failure)', param: null },
  invalid_api_key: { status: 401, message: 'Incorrect API key provided (injected failure)', param: null },
  context_length: {
    status: 400,
    message: "This model's maximum context length has been exceeded (injected failure)",
    param: 'messages',
  },
  server_error: { status: 503, message: 'The server is overloaded or not ready yet (injected failure)', param: null },
  invalid_request: { status: 400, message: 'Invalid request (injected failure)', param: 'model' },
  model_not_found: { status: 404, message: 'The model does not exist (injected failure)', param: 'model' },
};

/** The error a failure type answers with. */
export function injectedFailure(type: FailureType, model: string): OpenAIHttpError {
  const f = FAILURES[type];
  const message = type === 'model_not_found' ? `The model \`${model}\` does not exist (injected failure)` : f.message;
  return new OpenAIHttpError(f.status, message, { param: f.param });
}

/**
 * Decides, per request, whether to fail it: `rate` percent of requests get an error of one of
 * `types`, drawn uniformly. Deterministic under the server's seeded random source.
 */
export function maybeInjectFailure(
  rate: number,
  types: readonly FailureType[],
  model: string,
  random: () => number,
): OpenAIHttpError | null {
  if (rate <= 0 || types.length === 0) return null;
  if (random() * 100 >= rate) return null;
  const type = types[Math.floor(random() * types.length)] as FailureType;
  return injectedFailure(type, model);
}
