// The ModelService controller: informers on ModelServices and on the kinds they own feed a per-key
// work queue, whose handler is the reconciler.
import type { Logger } from '@llmd/observability';
import type { KubeClient } from '../kube/client.js';
import { Informer } from '../kube/informer.js';
import { OWNED_TYPES, TYPES } from '../kube/types.js';
import type { OperatorMetrics } from '../metrics.js';
import { CLEANUP_FINALIZER, FIELD_MANAGER, OWNER_LABEL, type KubeObject, type RenderConfig } from '../render/index.js';
import type { EventRecorder } from './events.js';
import { WorkQueue } from './queue.js';
import { keyOf, ModelServiceReconciler } from './reconciler.js';

const CONTROLLER = 'modelservice';

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
  readonly #informers: Informer[] = [];
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
    const scope = namespace === undefined ? {} : { namespace };
    this.#informers.push(new Informer(client, TYPES.ModelService, (t, o) => this.#onModelService(t, o), logger, scope));
    for (const type of OWNED_TYPES) {
      this.#informers.push(new Informer(client, type, (t, o) => this.#onChild(t, o), logger, { ...scope, labelSelector: `app.kubernetes.io/managed-by=${FIELD_MANAGER},${OWNER_LABEL}` }));
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
