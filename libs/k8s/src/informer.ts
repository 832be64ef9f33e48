import type { Logger } from 'pino';
import { KubeApiError, type KubeList, type WatchEvent } from './client.js';
import { sleep } from './sleep.js';

/** A watch that ends sooner than this after it opened counts as a failure (paced by the back-off). */
const SHORT_WATCH_MS = 1000;
/** A watch open longer than this before it failed resets the back-off. */
const HEALTHY_WATCH_MS = 30_000;

/** The least a Kubernetes object carries. */
export interface KubeObject {
  readonly metadata?: {
    readonly name?: string;
    readonly namespace?: string;
    readonly uid?: string;
    readonly resourceVersion?: string;
    readonly deletionTimestamp?: string | null;
    readonly creationTimestamp?: string;
    readonly labels?: Readonly<Record<string, string>> | null;
  };
}

/** `namespace/name` of an object (the informer's key). */
export function objectKey(o: KubeObject): string {
  return `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
}

/** How an informer reads its objects: a list and a watch from a resource version. */
export interface ListWatch<T extends KubeObject> {
  list(signal: AbortSignal): Promise<KubeList<T>>;
  /** Streams events after `resourceVersion` until the server ends the stream (resolve) or it fails (reject). */
  watch(resourceVersion: string, onEvent: (event: WatchEvent<T>) => void, signal: AbortSignal): Promise<void>;
}

/** What changed in an informer's store. */
export type InformerChange<T> =
  | { readonly type: 'added'; readonly object: T }
  | { readonly type: 'modified'; readonly object: T; readonly old: T }
  | { readonly type: 'deleted'; readonly object: T };

/** Retry pacing after failures: exponential from `initialMs` to `maxMs`, with jitter. */
export interface BackoffOptions {
  readonly initialMs?: number;
  readonly maxMs?: number;
}

/** Options of an {@link Informer}. */
export interface InformerOptions<T extends KubeObject> {
  /** Names the resource in log lines. */
  readonly what: string;
  readonly listWatch: ListWatch<T>;
  readonly logger: Logger;
  /** Called for every change, in order; a relist reports the differences to the previous store. */
  readonly onChange?: (change: InformerChange<T>) => void;
  /** Called after each complete (re)list has been applied. */
  readonly onSynced?: () => void;
  readonly backoff?: BackoffOptions;
  /** Random source for the jitter (tests pass a seeded one). */
  readonly random?: () => number;
  /**
   * When set, a list answered with 404 (the type is not served: its CRD is not installed) counts
   * as an empty, synced list, and the next list follows after this pause instead of the back-off.
   */
  readonly absentRetryMs?: number;
}

/**
 * A list+watch cache of one kind of object, like client-go's reflector and store: lists, applies
 * the list as a diff to its store, then watches from the list's resource version. A stream the
 * server ends normally is re-opened from the last resource version seen (bookmarks included); a
 * failed stream — connection lost, API server restarted, `410 Gone` for an expired resource version —
 * leads to a pause with exponential back-off and a new list, so no change made meanwhile is
 * missed. Failed lists back off the same way. Never throws out of its loop; `stop` ends it.
 */
export class Informer<T extends KubeObject> {
  readonly #o: InformerOptions<T>;
  readonly #store = new Map<string, T>();
  readonly #abort = new AbortController();
  #resourceVersion = '';
  #synced = false;
  #absent = false;
  #running: Promise<void> | null = null;
  #failures = 0;
  #firstSync: { promise: Promise<void>; resolve: () => void };
  /** Lists done, for tests and the log. */
  lists = 0;

  constructor(options: InformerOptions<T>) {
    this.#o = options;
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    this.#firstSync = { promise, resolve };
  }

  /** True once a list has been applied. */
  get synced(): boolean {
    return this.#synced;
  }

  /** True while the API server does not serve the type (only with {@link InformerOptions.absentRetryMs}). */
  get absent(): boolean {
    return this.#absent;
  }

  /** The objects now known, by `namespace/name`. */
  get store(): ReadonlyMap<string, T> {
    return this.#store;
  }

  /** Resolves after the first list has been applied (or when stopped). */
  whenSynced(): Promise<void> {
    return this.#firstSync.promise;
  }

  /** Starts the list+watch loop (idempotent). */
  start(): void {
    this.#running ??= this.#run();
  }

  /** Stops the loop and closes the open watch. */
  async stop(): Promise<void> {
    this.#abort.abort();
    this.#firstSync.resolve();
    await this.#running;
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    const log = this.#o.logger;
    let watchStarted: number | null = null;
    while (!signal.aborted) {
      try {
        let list: KubeList<T>;
        try {
          list = await this.#o.listWatch.list(signal);
        } catch (err) {
          if (this.#o.absentRetryMs === undefined || !(err instanceof KubeApiError && err.status === 404) || signal.aborted) throw err;
          if (!this.#absent) log.info({ what: this.#o.what }, 'the type is not served; checking again later');
          this.#absent = true;
          this.#replace([]);
          this.#synced = true;
          this.#firstSync.resolve();
          this.#failures = 0;
          await sleep(this.#o.absentRetryMs, signal);
          continue;
        }
        if (signal.aborted) return;
        this.#absent = false;
        this.#replace(list.items);
        this.#resourceVersion = list.metadata?.resourceVersion ?? '';
        this.lists++;
        this.#synced = true;
        this.#o.onSynced?.();
        this.#firstSync.resolve();
        // Watch from the list's version; re-open after each normal end of the stream.
        for (;;) {
          watchStarted = performance.now();
          await this.#o.listWatch.watch(this.#resourceVersion, (e) => this.#apply(e), signal);
          if (signal.aborted) return;
          if (performance.now() - watchStarted < SHORT_WATCH_MS) {
            // A server that ends streams at once: do not spin.
            this.#failures++;
            await sleep(this.#delay(), signal);
          } else {
            this.#failures = 0;
          }
        }
      } catch (err) {
        if (signal.aborted) return;
        // A stream that had been healthy for a while starts a new series of retries.
        if (watchStarted !== null && performance.now() - watchStarted > HEALTHY_WATCH_MS) this.#failures = 0;
        watchStarted = null;
        this.#failures++;
        const gone = err instanceof KubeApiError && err.gone;
        const delay = gone && this.#failures === 1 ? 0 : this.#delay();
        log.warn({ what: this.#o.what, err: (err as Error).message, retryInMs: Math.round(delay), relist: true }, gone ? 'resource version expired; listing again' : 'list/watch failed; listing again after a pause');
        await sleep(delay, signal);
      }
    }
  }

  #delay(): number {
    const initial = this.#o.backoff?.initialMs ?? 200;
    const max = this.#o.backoff?.maxMs ?? 30_000;
    const base = Math.min(max, initial * 2 ** Math.min(this.#failures - 1, 20));
    const random = this.#o.random ?? Math.random;
    return base * (0.5 + random() * 0.5);
  }

  #apply(event: WatchEvent<T>): void {
    const rv = event.object?.metadata?.resourceVersion;
    if (event.type === 'BOOKMARK') {
      if (rv) this.#resourceVersion = rv;
      return;
    }
    const key = objectKey(event.object);
    const old = this.#store.get(key);
    if (event.type === 'DELETED') {
      if (old) {
        this.#store.delete(key);
        this.#emit({ type: 'deleted', object: event.object });
      }
    } else if (event.type === 'ADDED' || event.type === 'MODIFIED') {
      this.#store.set(key, event.object);
      this.#emit(old ? { type: 'modified', object: event.object, old } : { type: 'added', object: event.object });
    }
    if (rv) this.#resourceVersion = rv;
  }

  /** Applies a full list as the differences to the current store. */
  #replace(items: readonly T[]): void {
    const seen = new Set<string>();
    for (const item of items) {
      const key = objectKey(item);
      seen.add(key);
      const old = this.#store.get(key);
      this.#store.set(key, item);
      if (!old) this.#emit({ type: 'added', object: item });
      else if (old.metadata?.resourceVersion !== item.metadata?.resourceVersion) this.#emit({ type: 'modified', object: item, old });
    }
    for (const [key, old] of [...this.#store]) {
      if (seen.has(key)) continue;
      this.#store.delete(key);
      this.#emit({ type: 'deleted', object: old });
    }
  }

  #emit(change: InformerChange<T>): void {
    try {
      this.#o.onChange?.(change);
    } catch (err) {
      this.#o.logger.error({ what: this.#o.what, err, change: change.type, object: objectKey(change.object) }, 'informer handler threw');
    }
  }
}
