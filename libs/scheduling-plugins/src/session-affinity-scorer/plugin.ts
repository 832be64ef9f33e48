import { definePlugin } from '@llmd/scheduling';
import type { ResponseHooks, Scorer } from '@llmd/scheduling';
import { z } from 'zod';

/** Upstream type name of the session-affinity scorer. */
export const SESSION_AFFINITY_SCORER_TYPE = 'session-affinity-scorer';

/** Request and response header carrying the session token. */
export const SESSION_TOKEN_HEADER = 'x-session-token';

// Standard base64 with padding, as Go's base64.StdEncoding accepts it; Buffer.from would silently
// skip bad characters instead of rejecting the token.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The session token of an endpoint: base64 of its id (`namespace/name`). */
export function encodeSessionToken(endpointId: string): string {
  return Buffer.from(endpointId, 'utf8').toString('base64');
}

/** The endpoint id a session token names, or null when the token is not valid base64. */
export function decodeSessionToken(token: string): string | null {
  if (token === '' || !BASE64.test(token)) return null;
  return Buffer.from(token, 'base64').toString('utf8');
}

/**
 * Keeps a session on the endpoint that served it: the endpoint named by the request's
 * `x-session-token` scores 1, all others 0; each response carries the serving endpoint's token.
 */
export const sessionAffinityScorer = definePlugin({
  type: SESSION_AFFINITY_SCORER_TYPE,
  parameters: z.object({}).strict().prefault({}),
  create: (name) =>
    ({
      type: SESSION_AFFINITY_SCORER_TYPE,
      name,
      category: 'affinity',
      score: (_ctx, req, endpoints) => {
        const token = req.headers[SESSION_TOKEN_HEADER];
        // A missing, tampered or foreign token matches nothing, so every endpoint scores 0.
        const target = token === undefined ? null : decodeSessionToken(token);
        const scores = new Float64Array(endpoints.length);
        if (target !== null) {
          endpoints.forEach((e, i) => {
            scores[i] = e.metadata.id === target ? 1 : 0;
          });
        }
        return scores;
      },
      onResponseHeaders: (_req, info, setHeader) => {
        if (info.endpoint === null) return;
        setHeader(SESSION_TOKEN_HEADER, encodeSessionToken(info.endpoint.metadata.id));
      },
    }) satisfies Scorer & ResponseHooks,
});
