import type { Logger } from 'pino';
import type { EndpointDatastore } from '../datastore/types.js';
import { collectionListWatch, Informer, KubeApiError, KubeConfigError, objectKey, type BackoffOptions, type InformerChange, type KubeClient, type KubeObject } from '@llmd/k8s';
import { podEndpoints, podExclusionReason, samePoolView, sameSelector, selectorQuery, type PodLike, type PoolView } from './endpoints.js';
import { inferencePoolResource, poolViewOf } from './pool.js';

/** Which InferencePool the router serves (`--pool-name`, `--pool-namespace`, `--pool-group`). */
export interface PoolIdentity {
  readonly name: string;
  readonly namespace: string;
  readonly group: string;
}

/** Options of a {@link KubernetesPoolDiscovery}. */
export interface KubernetesPoolDiscoveryOptions {
  readonly client: KubeClient;
  readonly pool: PoolIdentity;
  readonly logger: Logger;
  /** Retry pacing of the list+watch loops (tests shorten it). */
  readonly backoff?: BackoffOptions;
}

type PodObject = PodLike & KubeObject;

/**
 * Endpoint discovery from Kubernetes, as upstream's EPP does it: watches the one InferencePool the
 * router serves and, once it is known, the pods of its namespace that its selector matches. Every
 * Ready, not-terminating pod with an IP contributes one endpoint per target port to the datastore
 * (the same datastore file discovery feeds, so scraping and scheduling do not change); pods that
 * stop qualifying, or go away, are removed. A selector change re-opens the pod watch; a port change
 * rebuilds every pod's endpoints; a deleted pool empties the datastore and the router stops being
 * synced until the pool is back.
 */
export class KubernetesPoolDiscovery {
  /** Plugin-style type name. */
  readonly type = 'kubernetes-discovery';
  readonly name = 'inference-pool';
  readonly pool: PoolIdentity;
  readonly #o: KubernetesPoolDiscoveryOptions;
  readonly #logger: Logger;
  readonly #poolInformer: Informer<KubeObject>;
  #podInformer: Informer<PodObject> | null = null;
  #view: PoolView | null = null;
  #datastore: EndpointDatastore | null = null;
  /** Endpoint ids each pod contributed, by pod key. */
  readonly #podEndpointIds = new Map<string, ReadonlySet<string>>();
  #stopped = false;

  constructor(options: KubernetesPoolDiscoveryOptions) {
    this.#o = options;
    this.pool = options.pool;
    this.#logger = options.logger.child({ component: 'pool-discovery', pool: `${options.pool.namespace}/${options.pool.name}`, group: options.pool.group });
    const resource = inferencePoolResource(options.pool.group);
    this.#poolInformer = new Informer<KubeObject>({
      what: `InferencePool ${options.pool.namespace}/${options.pool.name}`,
      listWatch: collectionListWatch(options.client, `/apis/${resource.group}/${resource.version}/namespaces/${encodeURIComponent(options.pool.namespace)}/${resource.plural}`, {
        fieldSelector: `metadata.name=${options.pool.name}`,
      }),
      logger: this.#logger,
      onChange: (change) => this.#onPool(change),
      ...(options.backoff ? { backoff: options.backoff } : {}),
    });
  }

  /** True once the pool is known and the pods it selects have been listed (readiness requires it). */
  get synced(): boolean {
    return this.#view !== null && (this.#podInformer?.synced ?? false);
  }

  /** The pool as last read, or null while it does not exist. */
  get poolView(): PoolView | null {
    return this.#view;
  }

  /** Lists done by the pod informer now running (tests watch relists). */
  get podLists(): number {
    return this.#podInformer?.lists ?? 0;
  }

  /**
   * Checks once that the pool's resource can be read (a missing CRD or missing RBAC fails here,
   * with a message saying which), then starts the watches and returns; the datastore is marked
   * synced when the pool and its pods have been read. A pool that does not exist yet is waited for.
   */
  async start(datastore: EndpointDatastore): Promise<void> {
    if (this.#datastore) throw new Error('kubernetes discovery: already started');
    this.#datastore = datastore;
    const resource = inferencePoolResource(this.pool.group);
    try {
      await this.#o.client.get(`/apis/${resource.group}/${resource.version}/namespaces/${encodeURIComponent(this.pool.namespace)}/${resource.plural}`, {
        fieldSelector: `metadata.name=${this.pool.name}`,
        limit: 1,
      });
    } catch (err) {
      if (err instanceof KubeApiError && (err.status === 401 || err.status === 403 || err.status === 404)) {
        const hint =
          err.status === 404
            ? `is the InferencePool CRD (${resource.plural}.${resource.group}/${resource.version}) installed?`
            : `the router's service account needs get/list/watch on ${resource.plural}.${resource.group} and pods in namespace ${this.pool.namespace}`;
        throw new KubeConfigError(`cannot read InferencePool ${this.pool.namespace}/${this.pool.name}: ${err.message} (${hint})`, { cause: err });
      }
      // Anything else (API server not up yet, a network blip) is retried by the informer.
      this.#logger.warn({ err: (err as Error).message }, 'first read of the InferencePool failed; retrying in the background');
    }
    this.#poolInformer.start();
  }

  /** Stops both watches (the datastore keeps its endpoints). */
  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all([this.#poolInformer.stop(), this.#podInformer?.stop()]);
  }

  /** Same as {@link stop}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  #onPool(change: InformerChange<KubeObject>): void {
    if (this.#stopped) return;
    if (change.type === 'deleted') {
      this.#logger.warn('the InferencePool was deleted; dropping every endpoint until it is back');
      this.#view = null;
      void this.#replacePodInformer(null);
      return;
    }
    let view: PoolView;
    try {
      view = poolViewOf(change.object, this.pool.group);
    } catch (err) {
      // An object the API server accepted but that makes no sense to us: keep what we serve.
      this.#logger.error({ err: (err as Error).message }, 'the InferencePool cannot be used; keeping the previous endpoints');
      return;
    }
    const previous = this.#view;
    if (previous && samePoolView(previous, view)) return;
    this.#view = view;
    this.#logger.info({ selector: selectorQuery(view.selector) || '(all pods)', targetPorts: view.targetPorts }, previous ? 'InferencePool changed' : 'InferencePool found');
    if (previous && sameSelector(previous, view) && this.#podInformer) {
      // Same pods, other ports: rebuild each known pod's endpoints.
      for (const pod of this.#podInformer.store.values()) this.#syncPod(pod);
      return;
    }
    void this.#replacePodInformer(view);
  }

  /** Swaps the pod watch for one with the new selector; the first list of the new one removes pods no longer selected. */
  async #replacePodInformer(view: PoolView | null): Promise<void> {
    const old = this.#podInformer;
    this.#podInformer = null;
    if (old) await old.stop();
    if (this.#stopped) return;
    if (view === null) {
      for (const key of [...this.#podEndpointIds.keys()]) this.#setPodEndpoints(key, []);
      return;
    }
    if (this.#view !== view) return; // A newer change already took over.
    const known = new Set(this.#podEndpointIds.keys());
    const selector = selectorQuery(view.selector);
    const informer = new Informer<PodObject>({
      what: `pods of ${this.pool.namespace}/${this.pool.name}`,
      listWatch: collectionListWatch(this.#o.client, `/api/v1/namespaces/${encodeURIComponent(this.pool.namespace)}/pods`, selector ? { labelSelector: selector } : {}),
      logger: this.#logger,
      onChange: (change) => {
        if (this.#podInformer !== informer) return; // A replaced watch's last events.
        if (change.type === 'deleted') this.#setPodEndpoints(objectKey(change.object), []);
        else this.#syncPod(change.object);
      },
      onSynced: () => {
        if (this.#podInformer !== informer) return;
        // Pods served under the previous selector that this one does not list.
        for (const key of known) if (!informer.store.has(key)) this.#setPodEndpoints(key, []);
        known.clear();
        this.#datastore?.markSynced();
      },
      ...(this.#o.backoff ? { backoff: this.#o.backoff } : {}),
    });
    this.#podInformer = informer;
    informer.start();
  }

  #syncPod(pod: PodObject): void {
    const view = this.#view;
    if (!view) return;
    const endpoints = podEndpoints(pod, view);
    const key = objectKey(pod);
    if (endpoints.length === 0 && this.#podEndpointIds.has(key)) {
      this.#logger.info({ pod: key, reason: podExclusionReason(pod, view) }, 'pod left the pool');
    } else if (endpoints.length > 0 && !this.#podEndpointIds.has(key)) {
      this.#logger.info({ pod: key, endpoints: endpoints.map((e) => e.hostPort) }, 'pod joined the pool');
    }
    this.#setPodEndpoints(key, endpoints);
  }

  #setPodEndpoints(podKey: string, endpoints: ReturnType<typeof podEndpoints>): void {
    const ds = this.#datastore;
    if (!ds) return;
    const ids = new Set(endpoints.map((e) => e.id));
    for (const id of this.#podEndpointIds.get(podKey) ?? []) if (!ids.has(id)) ds.remove(id);
    for (const e of endpoints) ds.upsert(e);
    if (ids.size === 0) this.#podEndpointIds.delete(podKey);
    else this.#podEndpointIds.set(podKey, ids);
  }
}
