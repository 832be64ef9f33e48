import { formatHostPort } from '@llmd/model-server';
import { EMPTY_METRICS, type Endpoint, type EndpointMetadata, type EndpointMetrics } from '@llmd/scheduling';
import type { Logger } from 'pino';
import type { DatastoreEvent, EndpointDatastore } from './types.js';

/** What identifies and locates an endpoint; the rest of its metadata is derived. */
export interface EndpointInit {
  readonly name: string;
  /** Defaults to `default`. */
  readonly namespace?: string;
  /** IP literal (or host name in standalone set-ups). */
  readonly address: string;
  readonly port: number;
  readonly labels?: Readonly<Record<string, string>>;
}

/** Builds frozen endpoint metadata: id `namespace/name`, `hostPort` with IPv6 addresses bracketed. */
export function createEndpointMetadata(init: EndpointInit): EndpointMetadata {
  const namespace = init.namespace ?? 'default';
  return Object.freeze({
    id: `${namespace}/${init.name}`,
    name: init.name,
    namespace,
    address: init.address,
    port: init.port,
    hostPort: formatHostPort(init.address, init.port),
    labels: Object.freeze({ ...(init.labels ?? {}) }),
  });
}

/**
 * An endpoint as the datastore holds it: metadata fixed for the object's life (a metadata change
 * makes a new object), metrics replaced by the scrape loop.
 */
class StoredEndpoint implements Endpoint {
  constructor(
    readonly metadata: EndpointMetadata,
    public metrics: EndpointMetrics,
  ) {}
}

function sameLabels(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const k of keys) if (a[k] !== b[k] || !Object.hasOwn(b, k)) return false;
  return true;
}

function sameMetadata(a: EndpointMetadata, b: EndpointMetadata): boolean {
  return (
    a.id === b.id &&
    a.name === b.name &&
    a.namespace === b.namespace &&
    a.address === b.address &&
    a.port === b.port &&
    a.hostPort === b.hostPort &&
    sameLabels(a.labels, b.labels)
  );
}

/** Options of an {@link InMemoryDatastore}. */
export interface InMemoryDatastoreOptions {
  /** Where a throwing listener is reported. */
  readonly logger?: Logger;
}

/**
 * The router's endpoint datastore, in process memory. `endpoints()` returns the same frozen array
 * until an endpoint is added, removed or given new metadata; metrics updates replace an endpoint's
 * `metrics` in place and emit no event (they arrive every scrape interval). An upsert with unchanged
 * metadata is a no-op; one that keeps address and port keeps the metrics.
 */
export class InMemoryDatastore implements EndpointDatastore {
  readonly #byId = new Map<string, StoredEndpoint>();
  readonly #byHostPort = new Map<string, StoredEndpoint>();
  readonly #listeners = new Set<(event: DatastoreEvent) => void>();
  readonly #logger: Logger | undefined;
  #array: readonly Endpoint[] = Object.freeze([]);
  #dirty = false;
  #synced = false;
  #resolveSynced!: () => void;
  readonly #syncedPromise = new Promise<void>((resolve) => (this.#resolveSynced = resolve));

  constructor(options: InMemoryDatastoreOptions = {}) {
    this.#logger = options.logger;
  }

  /** True once discovery has loaded the endpoint list at least once. */
  get synced(): boolean {
    return this.#synced;
  }

  /** Number of endpoints. */
  get size(): number {
    return this.#byId.size;
  }

  /** The current endpoints, in insertion order; the same frozen array until the set or a metadata changes. */
  endpoints(): readonly Endpoint[] {
    if (this.#dirty) {
      this.#array = Object.freeze([...this.#byId.values()]);
      this.#dirty = false;
    }
    return this.#array;
  }

  /** An endpoint by id (`namespace/name`) or by `hostPort` (`ip:port`, IPv6 bracketed). */
  get(idOrHostPort: string): Endpoint | undefined {
    return this.#byId.get(idOrHostPort) ?? this.#byHostPort.get(idOrHostPort);
  }

  /** Adds or replaces an endpoint's metadata; metrics survive when address and port are unchanged. */
  upsert(metadata: EndpointMetadata): void {
    const existing = this.#byId.get(metadata.id);
    if (existing && sameMetadata(existing.metadata, metadata)) return;
    const frozen = Object.isFrozen(metadata) && Object.isFrozen(metadata.labels) ? metadata : Object.freeze({ ...metadata, labels: Object.freeze({ ...metadata.labels }) });
    const sameAddress = existing !== undefined && existing.metadata.address === metadata.address && existing.metadata.port === metadata.port;
    const stored = new StoredEndpoint(frozen, sameAddress ? existing.metrics : EMPTY_METRICS);
    if (existing) this.#unindexHostPort(existing);
    this.#byId.set(metadata.id, stored);
    this.#byHostPort.set(frozen.hostPort, stored);
    this.#dirty = true;
    this.#emit(existing ? { type: 'updated', endpoint: stored } : { type: 'added', endpoint: stored });
  }

  /** Removes an endpoint (no-op for unknown ids). */
  remove(id: string): void {
    const existing = this.#byId.get(id);
    if (!existing) return;
    this.#byId.delete(id);
    this.#unindexHostPort(existing);
    this.#dirty = true;
    this.#emit({ type: 'removed', endpoint: existing });
  }

  /** Replaces an endpoint's metrics (ignored for unknown ids); no event. */
  updateMetrics(id: string, metrics: EndpointMetrics): void {
    const existing = this.#byId.get(id);
    if (existing) existing.metrics = metrics;
  }

  /** Listens to added/updated/removed events; returns the function that stops listening. */
  subscribe(listener: (event: DatastoreEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Marks the first load done. */
  markSynced(): void {
    if (this.#synced) return;
    this.#synced = true;
    this.#resolveSynced();
  }

  /** Resolves once {@link markSynced} has been called. */
  whenSynced(): Promise<void> {
    return this.#syncedPromise;
  }

  #unindexHostPort(endpoint: StoredEndpoint): void {
    const hostPort = endpoint.metadata.hostPort;
    if (this.#byHostPort.get(hostPort) !== endpoint) return;
    this.#byHostPort.delete(hostPort);
    // Another id may share the address (two names for one server): it takes the slot.
    for (const other of this.#byId.values()) {
      if (other !== endpoint && other.metadata.hostPort === hostPort) {
        this.#byHostPort.set(hostPort, other);
        break;
      }
    }
  }

  #emit(event: DatastoreEvent): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(event);
      } catch (err) {
        if (this.#logger) this.#logger.error({ err, event: event.type, endpoint: event.endpoint.metadata.id }, 'datastore listener threw');
        else process.emitWarning(`datastore listener threw on ${event.type} ${event.endpoint.metadata.id}: ${String(err)}`);
      }
    }
  }
}
