import type { Endpoint, EndpointMetadata, EndpointMetrics } from '@llmd/scheduling';

/** A change to the set of endpoints. */
export type DatastoreEvent =
  | { readonly type: 'added'; readonly endpoint: Endpoint }
  | { readonly type: 'removed'; readonly endpoint: Endpoint }
  | { readonly type: 'updated'; readonly endpoint: Endpoint };

/**
 * The router's view of its pool: which endpoints exist and what their model servers last reported.
 * Discovery (an endpoints file now, Kubernetes later) writes it; the metrics scraper refreshes
 * metrics; the director reads a consistent array of endpoints per request.
 */
export interface EndpointDatastore {
  /** The current endpoints; the same array instance until something changes (cheap to call per request). */
  endpoints(): readonly Endpoint[];
  /** An endpoint by id or by `ip:port`. */
  get(idOrHostPort: string): Endpoint | undefined;
  /** Adds or replaces an endpoint's metadata (metrics are kept when the address is unchanged). */
  upsert(metadata: EndpointMetadata): void;
  /** Removes an endpoint. */
  remove(id: string): void;
  /** Replaces an endpoint's metrics (ignored for unknown ids). */
  updateMetrics(id: string, metrics: EndpointMetrics): void;
  /** Listens to changes; returns the function that stops listening. */
  subscribe(listener: (event: DatastoreEvent) => void): () => void;
  /** True once discovery has loaded the endpoint list at least once. */
  readonly synced: boolean;
  /** Marks the first load done. */
  markSynced(): void;
}
