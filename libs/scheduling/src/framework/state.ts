/**
 * Per-scheduling-cycle scratch space shared by the plugins of one request's cycle (e.g. prefix
 * hashes computed by a scorer and used by its PreRequest hook). Keys are plugin names by convention.
 */
export class CycleState {
  readonly #values = new Map<string, unknown>();

  /** Stores a value under `key`. */
  write(key: string, value: unknown): void {
    this.#values.set(key, value);
  }

  /** Reads a value stored by `write`. */
  read<T>(key: string): T | undefined {
    return this.#values.get(key) as T | undefined;
  }
}

/**
 * Attributes data producers attach to endpoints for one request (`endpointId → key → value`),
 * e.g. `PrefixCacheMatchInfo` or `UncachedRequestTokens`. Lives as long as the request.
 */
export class EndpointAttributes {
  readonly #byEndpoint = new Map<string, Map<string, unknown>>();

  /** Sets an attribute of an endpoint. */
  set(endpointId: string, key: string, value: unknown): void {
    let m = this.#byEndpoint.get(endpointId);
    if (!m) this.#byEndpoint.set(endpointId, (m = new Map()));
    m.set(key, value);
  }

  /** Reads an attribute of an endpoint. */
  get<T>(endpointId: string, key: string): T | undefined {
    return this.#byEndpoint.get(endpointId)?.get(key) as T | undefined;
  }
}

/**
 * Per-request state a plugin keeps between hooks (PreRequest → response hooks), keyed by request id,
 * dropped after `ttlMs` without access (upstream: 5 min idle, swept every minute).
 */
export class PluginState<T> {
  readonly #entries = new Map<string, { value: T; touched: number }>();
  readonly #ttlMs: number;
  readonly #now: () => number;
  #lastSweep: number;

  constructor(ttlMs = 5 * 60_000, now: () => number = () => performance.now()) {
    this.#ttlMs = ttlMs;
    this.#now = now;
    this.#lastSweep = now();
  }

  /** Stores state for a request. */
  set(requestId: string, value: T): void {
    this.#sweep();
    this.#entries.set(requestId, { value, touched: this.#now() });
  }

  /** Reads (and refreshes) a request's state. */
  get(requestId: string): T | undefined {
    const e = this.#entries.get(requestId);
    if (!e) return undefined;
    e.touched = this.#now();
    return e.value;
  }

  /** Removes and returns a request's state. */
  take(requestId: string): T | undefined {
    const e = this.#entries.get(requestId);
    this.#entries.delete(requestId);
    return e?.value;
  }

  /** Number of live entries. */
  get size(): number {
    return this.#entries.size;
  }

  #sweep(): void {
    const now = this.#now();
    if (now - this.#lastSweep < Math.min(60_000, this.#ttlMs)) return;
    this.#lastSweep = now;
    for (const [id, e] of this.#entries) if (now - e.touched > this.#ttlMs) this.#entries.delete(id);
  }
}
