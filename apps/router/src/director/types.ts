import type { Endpoint, InferenceRequest, ResponseUsage, RouterError } from '@llmd/scheduling';

/**
 * A request as a transport (the ext_proc server or the standalone proxy) hands it to the director.
 * Header names are lower-case; a header given several times keeps its first value.
 */
export interface IncomingRequest {
  readonly method: string;
  /** Path with query, e.g. `/v1/chat/completions` (ext_proc: the `:path` pseudo-header). */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  /** The whole request body, or null when the request had none (e.g. GET). */
  readonly body: Buffer | null;
  /**
   * Endpoints (`ip:port` or `ip`) the proxy allows, from ext_proc metadata
   * `envoy.lb.subset_hint / x-gateway-destination-endpoint-subset`; null when not given.
   */
  readonly subsetHint: readonly string[] | null;
  /** Endpoints (`ip:port`) not to choose: the standalone proxy's retry after a failed connection. */
  readonly excludeEndpoints?: ReadonlySet<string>;
  /** Aborted when the client (or Envoy's stream) goes away: a request waiting in flow control leaves at once. */
  readonly signal?: AbortSignal;
}

/** Where a request goes and what is sent there. */
export interface RoutedRequest {
  /** The parsed request (null for requests without a body, routed to a random endpoint). */
  readonly request: InferenceRequest | null;
  /** Chosen endpoints: primary first, then fallbacks. */
  readonly targets: readonly Endpoint[];
  /** `x-gateway-destination-endpoint` value: the targets' `ip:port`, comma-joined. */
  readonly destination: string;
  /**
   * Headers to send upstream: every incoming header that the router does not own, plus those
   * plugins added (e.g. `x-prefiller-host-port`), plus `x-request-id`. Excludes the destination
   * header and `content-length` (the transport sets both).
   */
  readonly headers: Readonly<Record<string, string>>;
  /** Incoming headers the router consumed and must not forward (objective, rewrite, fairness, …). */
  readonly removedHeaders: readonly string[];
  /** The body to send (re-serialised with the target model), or an empty buffer. */
  readonly body: Buffer;
  /** Reports the response's progress back to the plugins and metrics. */
  readonly response: ResponseTracker;
}

/** Follows one forwarded request's response; each method at most once, `complete` exactly once. */
export interface ResponseTracker {
  /**
   * The response headers arrived from `servedBy` (the endpoint that answered, by `ip:port`).
   * Returns headers to add to the client's response (e.g. `x-session-token`).
   */
  headers(status: number, headers: Readonly<Record<string, string>>, servedBy: string | null): Record<string, string>;
  /** The first body bytes arrived. */
  firstChunk(): void;
  /** The response ended; `usage` from the last chunk or the JSON body when present. */
  complete(usage: ResponseUsage | null, failed: boolean): void;
}

/** Routes requests: parse, admit, schedule, run PreRequest hooks. The one core both transports share. */
export interface Director {
  /** Throws a {@link RouterError} when the request is rejected (400, 429, 503, …). */
  route(incoming: IncomingRequest): Promise<RoutedRequest>;
}

export type { RouterError };
