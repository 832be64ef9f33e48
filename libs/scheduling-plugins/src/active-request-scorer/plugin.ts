import { definePlugin } from '@llmd/scheduling';
import type { PreRequestHook, ResponseHooks, Scorer } from '@llmd/scheduling';
import type { Logger } from 'pino';
import { z } from 'zod';
import { parseGoDuration } from './duration.js';

/** Upstream type name of the active-request scorer. */
export const ACTIVE_REQUEST_SCORER_TYPE = 'active-request-scorer';

/** Upstream's default `requestTimeout`: 2 minutes. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 120_000;

interface TrackedRequest {
  readonly endpointIds: readonly string[];
  readonly expiresAt: number;
}

/**
 * Requests in flight per endpoint, each forgotten after a fixed timeout so that a response hook
 * that never runs cannot leak load forever. Expiry is lazy (checked on every call), so no timer
 * keeps the process alive.
 */
export class InFlightRequests {
  readonly #timeoutMs: number;
  readonly #now: () => number;
  // Insertion order equals expiry order (one timeout, monotonic clock), so expiring walks only the
  // head of the map. A re-added request is deleted first and so moves to the end.
  readonly #byRequest = new Map<string, TrackedRequest>();
  readonly #counts = new Map<string, number>();

  constructor(timeoutMs: number, now: () => number) {
    this.#timeoutMs = timeoutMs;
    this.#now = now;
  }

  /** Records a request as in flight on the given endpoints (one count per entry). */
  add(requestId: string, endpointIds: readonly string[]): void {
    this.expire();
    // A request id seen twice replaces its earlier entry instead of counting twice.
    this.release(requestId);
    if (endpointIds.length === 0) return;
    this.#byRequest.set(requestId, { endpointIds, expiresAt: this.#now() + this.#timeoutMs });
    for (const id of endpointIds) this.#counts.set(id, (this.#counts.get(id) ?? 0) + 1);
  }

  /** Forgets a request; false when it was not tracked (already released or expired). */
  release(requestId: string): boolean {
    const tracked = this.#byRequest.get(requestId);
    if (tracked === undefined) return false;
    this.#byRequest.delete(requestId);
    this.#decrement(tracked);
    return true;
  }

  /** Drops requests older than the timeout. */
  expire(): void {
    const now = this.#now();
    for (const [requestId, tracked] of this.#byRequest) {
      if (tracked.expiresAt >= now) break;
      this.#byRequest.delete(requestId);
      this.#decrement(tracked);
    }
  }

  /** Requests in flight on an endpoint. */
  countOf(endpointId: string): number {
    return this.#counts.get(endpointId) ?? 0;
  }

  /** The largest count over every tracked endpoint (0 when none). */
  maxCount(): number {
    let max = 0;
    for (const c of this.#counts.values()) if (c > max) max = c;
    return max;
  }

  /** Number of requests tracked. */
  get size(): number {
    return this.#byRequest.size;
  }

  #decrement(tracked: TrackedRequest): void {
    for (const id of tracked.endpointIds) {
      const c = this.#counts.get(id) ?? 0;
      // Endpoints at zero leave the map so `maxCount` only sees endpoints that carry load.
      if (c <= 1) this.#counts.delete(id);
      else this.#counts.set(id, c - 1);
    }
  }
}

/** What the active-request scorer is: a scorer with the hooks that count and release requests. */
export type ActiveRequestScorer = Scorer &
  PreRequestHook &
  Required<Pick<ResponseHooks, 'onResponseComplete'>> &
  ResponseHooks & { readonly inFlight: InFlightRequests };

/** Turns `requestTimeout` (Go duration string, or milliseconds) into ms, falling back like upstream. */
export function resolveRequestTimeout(value: string | number, logger: Logger): number {
  const ms = typeof value === 'number' ? value : parseGoDuration(value);
  if (ms === null || !Number.isFinite(ms) || ms <= 0) {
    // Upstream logs and keeps the default rather than refusing the config; so do we.
    logger.warn(
      { requestTimeout: value, usingMs: DEFAULT_REQUEST_TIMEOUT_MS },
      'active-request-scorer: invalid requestTimeout, using the default',
    );
    return DEFAULT_REQUEST_TIMEOUT_MS;
  }
  return ms;
}

/**
 * Prefers endpoints with fewer requests this router sent and has not seen finish. Counts the first
 * target of every profile result in PreRequest and releases them when the response completes (or
 * the timeout passes). Scores `(max − c) / max`, with `max` over all tracked endpoints, not just
 * the candidates, so a busy endpoint outside this profile still sets the scale.
 */
export const activeRequestScorer = definePlugin({
  type: ACTIVE_REQUEST_SCORER_TYPE,
  parameters: z
    .object({
      /** How long a request counts as in flight without a response: Go duration, or milliseconds. */
      requestTimeout: z.union([z.string(), z.number()]).default('2m'),
    })
    .strict()
    .prefault({}),
  create: (name, params, handle) => {
    const logger = handle.logger.child({ plugin: name });
    const inFlight = new InFlightRequests(resolveRequestTimeout(params.requestTimeout, logger), handle.now);
    return {
      type: ACTIVE_REQUEST_SCORER_TYPE,
      name,
      category: 'distribution',
      inFlight,
      score: (_ctx, _req, endpoints) => {
        inFlight.expire();
        const max = inFlight.maxCount();
        const scores = new Float64Array(endpoints.length);
        endpoints.forEach((e, i) => {
          const c = inFlight.countOf(e.metadata.id);
          scores[i] = c === 0 || max === 0 ? 1 : (max - c) / max;
        });
        return scores;
      },
      preRequest: (_ctx, req, result) => {
        const endpointIds: string[] = [];
        for (const run of result.profileResults.values()) {
          const primary = run?.targets[0];
          if (primary !== undefined) endpointIds.push(primary.metadata.id);
        }
        inFlight.add(req.requestId, endpointIds);
      },
      onResponseComplete: (req) => {
        // Released even when no endpoint was reached: the request is over either way, and waiting
        // for the timeout (as upstream does) would keep phantom load on its targets.
        inFlight.release(req.requestId);
        inFlight.expire();
      },
    } satisfies ActiveRequestScorer;
  },
});
