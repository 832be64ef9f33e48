// The ModelService controller: informers on ModelServices and on the kinds they own feed a per-key
// work queue, whose handler is the reconciler.
import { Informer, resourceListWatch, type InformerChange, type KubeClient, type ResourceType } from '@llmd/k8s';
import type { Logger } from '@llmd/observability';
import { OWNED_TYPES, TYPES } from '../kube/types.js';
import type { OperatorMetrics } from '../metrics.js';
import { CLEANUP_FINALIZER, FIELD_MANAGER, OWNER_LABEL, type KubeObject, type RenderConfig } from '../render/index.js';
import type { EventRecorder } from './events.js';
import { WorkQueue } from './queue.js';
import { keyOf, ModelServiceReconciler } from './reconciler.js';

const CONTROLLER = 'modelservice';

/** How the handlers name an informer's changes. */
type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';
const CHANGE_TYPES: Record<InformerChange<KubeObject>['type'], ChangeType> = { added: 'ADDED', modified: 'MODIFIED', deleted: 'DELETED' };

/** Options of {@link ModelServiceController}. */
export interface ControllerOptions {
  client: KubeClient;
  logger: Logger;
  metrics: OperatorMetrics;
  events: EventRecorder;
  render: RenderConfig;
  /** Only this namespace; every namespace when undefined. */
  namespace?: string;
  /** ModelServices reconciled at the same time (one ModelService never twice at once). */
  concurrency: number;
  /** Every ModelService is reconciled at least this often. */
  resyncPeriodMs: number;
  /** First retry delay after a failed reconcile. */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
}

/** Watches ModelServices and their children and reconciles them. */
export class ModelServiceController {
  readonly #options: ControllerOptions;
  readonly #queue: WorkQueue;
  readonly #informers: Informer<KubeObject>[] = [];
  readonly #reconciler: ModelServiceReconciler;
  /** Last generation seen per ModelService uid: status-only changes do not trigger a reconcile. */
  readonly #generations = new Map<string, number>();
  readonly #keys = new Set<string>();
  #resync: NodeJS.Timeout | undefined;
  #started = false;

  constructor(options: ControllerOptions) {
    this.#options = options;
    const { metrics, logger } = options;
    this.#reconciler = new ModelServiceReconciler(options.client, options.render, options.events, logger);
    this.#queue = new WorkQueue({
      handler: (key) => this.#reconciler.reconcile(key),
      concurrency: options.concurrency,
      baseBackoffMs: options.baseBackoffMs ?? 200,
      maxBackoffMs: options.maxBackoffMs ?? 60_000,
      onResult: (key, outcome, error, durationMs) => {
        metrics.reconcileTotal.inc({ controller: CONTROLLER, result: outcome });
        metrics.reconcileTime.observe({ controller: CONTROLLER }, (durationMs ?? 0) / 1000);
        if (outcome === 'error') {
          metrics.reconcileErrors.inc({ controller: CONTROLLER });
          metrics.queueRetries.inc({ name: CONTROLLER });
          logger.warn({ modelService: key, err: (error as Error).message }, 'reconcile failed; will retry');
        }
        metrics.queueDepth.set({ name: CONTROLLER }, this.#queue.depth);
      },
    });
  }

  /** Whether every informer has listed once. */
  get synced(): boolean {
    return this.#started && this.#informers.every((i) => i.synced);
  }

  /** The work queue (for tests and metrics). */
  get queue(): WorkQueue {
    return this.#queue;
  }

  #enqueue(key: string): void {
    this.#queue.add(key);
    this.#options.metrics.queueAdds.inc({ name: CONTROLLER });
    this.#options.metrics.queueDepth.set({ name: CONTROLLER }, this.#queue.depth);
  }

  #onModelService(type: 'ADDED' | 'MODIFIED' | 'DELETED', ms: KubeObject): void {
    const key = keyOf(ms);
    const uid = (ms.metadata.uid as string | undefined) ?? key;
    if (type === 'DELETED') {
      this.#generations.delete(uid);
      this.#keys.delete(key);
      this.#enqueue(key);
      return;
    }
    this.#keys.add(key);
    const generation = (ms.metadata.generation as number | undefined) ?? 0;
    const finalizers = (ms.metadata.finalizers as string[] | undefined) ?? [];
    const changed = this.#generations.get(uid) !== generation;
    this.#generations.set(uid, generation);
    if (type === 'ADDED' || changed || ms.metadata.deletionTimestamp || !finalizers.includes(CLEANUP_FINALIZER)) this.#enqueue(key);
  }

  #onChild(_type: 'ADDED' | 'MODIFIED' | 'DELETED', child: KubeObject): void {
    const owner = child.metadata.labels?.[OWNER_LABEL];
    if (owner) this.#enqueue(`${child.metadata.namespace ?? 'default'}/${owner}`);
  }

  /** Starts the informers and the queue. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    const { client, logger, namespace } = this.#options;
    const informer = (type: ResourceType, handler: (type: ChangeType, object: KubeObject) => void, labelSelector?: string) =>
      new Informer<KubeObject>({
        what: type.plural,
        listWatch: resourceListWatch<KubeObject>(client, type, namespace, labelSelector === undefined ? {} : { labelSelector }),
        logger: logger.child({ informer: type.plural }),
        onChange: (change: InformerChange<KubeObject>) => handler(CHANGE_TYPES[change.type], change.object),
        backoff: { initialMs: 500, maxMs: 30_000 },
        // A kind whose CRD is not installed is checked for now and then, without holding up readiness.
        absentRetryMs: 30_000,
      });
    this.#informers.push(informer(TYPES.ModelService, (t, o) => this.#onModelService(t, o)));
    for (const type of OWNED_TYPES) {
      this.#informers.push(informer(type, (t, o) => this.#onChild(t, o), `app.kubernetes.io/managed-by=${FIELD_MANAGER},${OWNER_LABEL}`));
    }
    for (const informer of this.#informers) informer.start();
    this.#resync = setInterval(() => {
      for (const key of this.#keys) this.#enqueue(key);
    }, this.#options.resyncPeriodMs);
    this.#resync.unref();
    logger.info({ namespace: namespace ?? '(all)' }, 'controller started');
  }

  /** Stops watching and waits for reconciles in progress. */
  async stop(): Promise<void> {
    if (this.#resync) clearInterval(this.#resync);
    await Promise.all(this.#informers.map((i) => i.stop()));
    await this.#queue.stop();
  }
}
