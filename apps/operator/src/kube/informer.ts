// List-then-watch of one resource type, reconnecting on its own: a relist after the watch ends with
// "resource version too old", a backoff after errors, a slow retry while the type does not exist.
import type { Logger } from '@llmd/observability';
import type { KubeObject } from '../render/types.js';
import { isNotFound, KubeApiError, type KubeClient } from './client.js';
import type { ResourceType } from './types.js';

/** What an informer reports: each object as it is added, changed or removed. */
export type InformerHandler = (type: 'ADDED' | 'MODIFIED' | 'DELETED', object: KubeObject) => void;

/** Options of {@link Informer}. */
export interface InformerOptions {
  /** Namespace to watch; every namespace when undefined. */
  namespace?: string;
  labelSelector?: string;
  /** Pause before retrying after an error (doubles up to `maxBackoffMs`). */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Pause between checks while the type is not served (its CRD not installed). */
  absentRetryMs?: number;
}

/** Keeps a handler told about every object of one type, until stopped. */
export class Informer {
  readonly #client: KubeClient;
  readonly #type: ResourceType;
  readonly #options: InformerOptions;
  readonly #handler: InformerHandler;
  readonly #logger: Logger;
  readonly #abort = new AbortController();
  #known = new Map<string, KubeObject>();
  #synced = false;
  #absent = false;
  #syncWaiters: (() => void)[] = [];
  #loop: Promise<void> | undefined;

  constructor(client: KubeClient, type: ResourceType, handler: InformerHandler, logger: Logger, options: InformerOptions = {}) {
    this.#client = client;
    this.#type = type;
    this.#handler = handler;
    this.#logger = logger.child({ informer: type.plural });
    this.#options = options;
  }

  /** True once the first list completed (or the type turned out not to be served). */
  get synced(): boolean {
    return this.#synced;
  }

  /** True while the API server does not serve the type. */
  get absent(): boolean {
    return this.#absent;
  }

  /** Starts listing and watching. */
  start(): void {
    this.#loop ??= this.#run();
  }

  /** Resolves once synced. */
  whenSynced(): Promise<void> {
    if (this.#synced) return Promise.resolve();
    return new Promise((resolve) => this.#syncWaiters.push(resolve));
  }

  /** Stops watching and waits for the loop to end. */
  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#loop;
  }

  #markSynced(): void {
    if (this.#synced) return;
    this.#synced = true;
    for (const w of this.#syncWaiters.splice(0)) w();
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.#abort.signal.aborted) return resolve();
      const timer = setTimeout(resolve, ms);
      this.#abort.signal.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          resolve();
        },
        { once: true },
      );
    });
  }

  async #run(): Promise<void> {
    const base = this.#options.backoffMs ?? 500;
    const max = this.#options.maxBackoffMs ?? 30_000;
    let backoff = base;
    const key = (o: KubeObject) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    while (!this.#abort.signal.aborted) {
      try {
        const list = await this.#client.list(this.#type, this.#options.namespace, this.#options.labelSelector);
        this.#absent = false;
        // Report what changed since the last list: new or changed objects, and the ones gone.
        const seen = new Map(list.items.map((o) => [key(o), o]));
        for (const [k, old] of this.#known) if (!seen.has(k)) this.#handler('DELETED', old);
        for (const [k, o] of seen) {
          const old = this.#known.get(k);
          if (!old) this.#handler('ADDED', o);
          else if (old.metadata.resourceVersion !== o.metadata.resourceVersion) this.#handler('MODIFIED', o);
        }
        this.#known = seen;
        this.#markSynced();
        backoff = base;
        let resourceVersion = list.resourceVersion;
        // Watch until the server ends it; then continue from the last version seen.
        for (;;) {
          let gone = false;
          await this.#client.watch(
            this.#type,
            this.#options.namespace,
            { resourceVersion, ...(this.#options.labelSelector ? { labelSelector: this.#options.labelSelector } : {}) },
            (event) => {
              if (event.type === 'ERROR') {
                if (event.object.code === 410) gone = true;
                else this.#logger.warn({ status: event.object }, 'watch error');
                return;
              }
              if (event.object.metadata?.resourceVersion) resourceVersion = event.object.metadata.resourceVersion as string;
              if (event.type === 'BOOKMARK') return;
              if (event.type === 'DELETED') this.#known.delete(key(event.object));
              else this.#known.set(key(event.object), event.object);
              this.#handler(event.type, event.object);
            },
            this.#abort.signal,
          );
          if (gone || this.#abort.signal.aborted) break;
        }
      } catch (err) {
        if (this.#abort.signal.aborted) break;
        if (isNotFound(err)) {
          if (!this.#absent) this.#logger.info(`${this.#type.apiVersion} ${this.#type.plural} is not served; checking again later`);
          this.#absent = true;
          this.#markSynced();
          await this.#sleep(this.#options.absentRetryMs ?? 30_000);
          continue;
        }
        this.#logger.warn({ err: err instanceof KubeApiError ? err.message : err }, 'list/watch failed; retrying');
        await this.#sleep(backoff);
        backoff = Math.min(backoff * 2, max);
      }
    }
  }
}
