// One reconcile of one ModelService: bring its children to the rendered state (server-side apply,
// one field manager), delete children no longer wanted, write the status; on deletion, delete
// every child and then let the ModelService go.
import { fieldPath, ModelServiceSchema, type ModelService, type ModelServiceStatus } from '@llmd/k8s-api';
import { isConflict, isNotFound, type KubeClient } from '@llmd/k8s';
import type { Logger } from '@llmd/observability';
import { isDeepStrictEqual } from 'node:util';
import { OWNED_TYPES, typeOf, TYPES } from '../kube/types.js';
import { childNames, childSelector, CLEANUP_FINALIZER, FIELD_MANAGER, renderChildren, type KubeObject, type RenderConfig } from '../render/index.js';
import type { EventRecorder } from './events.js';
import type { HandlerResult } from './queue.js';
import { computeStatus, type Observation } from './status.js';

/** Pause before checking again that the children of a deleted ModelService are gone. */
const DELETION_RECHECK_MS = 1000;

/** Reconciles ModelServices by `namespace/name` key. */
export class ModelServiceReconciler {
  readonly #client: KubeClient;
  readonly #config: RenderConfig;
  readonly #events: EventRecorder;
  readonly #logger: Logger;

  constructor(client: KubeClient, config: RenderConfig, events: EventRecorder, logger: Logger) {
    this.#client = client;
    this.#config = config;
    this.#events = events;
    this.#logger = logger;
  }

  /** Reconciles the ModelService `namespace/name`. Throws to be retried with backoff. */
  async reconcile(key: string): Promise<HandlerResult | void> {
    const [namespace, name] = key.split('/') as [string, string];
    const log = this.#logger.child({ modelService: key });
    const raw = await this.#client.read<KubeObject>(TYPES.ModelService, namespace, name);
    if (!raw) {
      // Gone without our finalizer having run (e.g. it was removed by hand): clean up anyway.
      await this.#deleteChildren(namespace, name);
      return;
    }
    const finalizers = (raw.metadata.finalizers as string[] | undefined) ?? [];
    if (raw.metadata.deletionTimestamp) {
      if (!finalizers.includes(CLEANUP_FINALIZER)) return;
      const remaining = await this.#deleteChildren(namespace, name);
      if (remaining > 0) {
        log.info({ remaining }, 'waiting for children to go');
        return { requeueAfterMs: DELETION_RECHECK_MS };
      }
      await this.#client.mergePatch(TYPES.ModelService, namespace, name, {
        metadata: { finalizers: finalizers.filter((f) => f !== CLEANUP_FINALIZER), resourceVersion: raw.metadata.resourceVersion },
      });
      log.info('children deleted; finalizer removed');
      return;
    }
    let current = raw;
    if (!finalizers.includes(CLEANUP_FINALIZER)) {
      // The resourceVersion makes this fail rather than drop a finalizer someone else just added.
      current = await this.#client.mergePatch<KubeObject>(TYPES.ModelService, namespace, name, {
        metadata: { finalizers: [...finalizers, CLEANUP_FINALIZER], resourceVersion: raw.metadata.resourceVersion },
      });
    }
    const generation = (current.metadata.generation as number | undefined) ?? 0;
    const previousStatus = (current as { status?: ModelServiceStatus }).status;
    const parsed = ModelServiceSchema.safeParse(current);
    if (!parsed.success) {
      const message = parsed.error.issues.map((i) => `${fieldPath(i.path)}: ${i.message}`).join('; ');
      log.warn({ problems: message }, 'invalid ModelService');
      await this.#events.record(current, 'Warning', 'InvalidSpec', message);
      await this.#writeStatus(current, computeStatus({ generation, deployments: {}, components: [], inferencePool: '', problems: [], invalidSpec: message }, previousStatus, nowTime()), previousStatus);
      return;
    }
    const ms = parsed.data;
    const desired = renderChildren(ms, this.#config);
    const problems: string[] = [];
    const stored = new Map<string, KubeObject>();
    for (const object of desired) {
      try {
        stored.set(`${object.kind}/${object.metadata.name}`, await this.#client.apply<KubeObject>(typeOf(object), object, FIELD_MANAGER, { force: true }));
      } catch (err) {
        problems.push(`${object.kind} ${object.metadata.name}: ${describeApplyError(object, err)}`);
      }
    }
    try {
      await this.#prune(namespace, name, new Set(desired.map((o) => `${o.kind}/${o.metadata.name}`)));
    } catch (err) {
      problems.push(`pruning: ${(err as Error).message}`);
    }
    const names = childNames(ms);
    const observation: Observation = {
      generation,
      deployments: {
        router: stored.get(`Deployment/${names.router}`),
        decode: stored.get(`Deployment/${names.role('decode')}`),
        ...(ms.spec.prefill ? { prefill: stored.get(`Deployment/${names.role('prefill')}`) } : {}),
      },
      components: ms.spec.prefill ? ['decode', 'prefill', 'router'] : ['decode', 'router'],
      inferencePool: names.pool,
      problems,
    };
    await this.#writeStatus(current, computeStatus(observation, previousStatus, nowTime()), previousStatus);
    if (problems.length > 0) {
      for (const p of problems) await this.#events.record(current, 'Warning', 'ApplyFailed', p);
      throw new Error(`${problems.length} child object(s) could not be applied: ${problems.join('; ')}`);
    }
    log.debug({ children: desired.length }, 'reconciled');
  }

  async #writeStatus(ms: KubeObject, status: ModelServiceStatus, previous: ModelServiceStatus | undefined): Promise<void> {
    if (isDeepStrictEqual(status, previous)) return;
    const { name, namespace } = ms.metadata;
    await this.#client.apply(TYPES.ModelService, { apiVersion: ms.apiVersion, kind: ms.kind, metadata: { name, namespace }, status }, FIELD_MANAGER, { force: true, subresource: 'status' });
  }

  /** Deletes children of the ModelService that are not in `keep` (`Kind/name`). */
  async #prune(namespace: string, msName: string, keep: ReadonlySet<string>): Promise<void> {
    for (const type of OWNED_TYPES) {
      let items: KubeObject[];
      try {
        items = (await this.#client.list<KubeObject>(type, namespace, { labelSelector: childSelector(msName) })).items;
      } catch (err) {
        if (isNotFound(err)) continue; // the type is not served (its CRD is not installed)
        throw err;
      }
      for (const item of items) {
        if (keep.has(`${type.kind}/${item.metadata.name}`)) continue;
        await this.#client.delete(type, namespace, item.metadata.name);
        this.#logger.info({ modelService: `${namespace}/${msName}`, child: `${type.kind}/${item.metadata.name}` }, 'deleted a child no longer wanted');
      }
    }
  }

  /** Deletes every child; returns how many were still present (now being deleted). */
  async #deleteChildren(namespace: string, msName: string): Promise<number> {
    let present = 0;
    for (const type of OWNED_TYPES) {
      let items: KubeObject[];
      try {
        items = (await this.#client.list<KubeObject>(type, namespace, { labelSelector: childSelector(msName) })).items;
      } catch (err) {
        if (isNotFound(err)) continue;
        throw err;
      }
      for (const item of items) {
        present++;
        if (!item.metadata.deletionTimestamp) await this.#client.delete(type, namespace, item.metadata.name);
      }
    }
    return present;
  }
}

function nowTime(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function describeApplyError(object: KubeObject, err: unknown): string {
  if (isNotFound(err)) return `the API server does not serve ${object.apiVersion} ${object.kind} (is its CRD installed?)`;
  if (isConflict(err)) return `conflict: ${(err as Error).message}`;
  return (err as Error).message;
}

/** The `namespace/name` key of a ModelService. */
export function keyOf(ms: Pick<ModelService, 'metadata'> | KubeObject): string {
  return `${ms.metadata.namespace ?? 'default'}/${ms.metadata.name}`;
}
