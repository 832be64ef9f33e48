import {
  INFERENCE_X_GROUP,
  inferenceModelRewriteSchemaFor,
  inferenceObjectiveSchemaFor,
  parseResource,
  type InferenceModelRewrite,
  type InferenceObjective,
} from '@llmd/k8s-api';
import type { Logger } from 'pino';
import type { ModelRewriteRecord, ObjectiveRecord, PolicyDatastore } from '../datastore/policies.js';
import { collectionListWatch, Informer, KubeApiError, type BackoffOptions, type InformerChange, type KubeClient, type KubeObject } from '@llmd/k8s';
import type { PoolIdentity } from './pool-discovery.js';

/** The groups that serve InferenceObjective and InferenceModelRewrite, newest first (it wins a name clash). */
export const POLICY_GROUPS = ['llm-d.ai', INFERENCE_X_GROUP] as const;
const VERSION = 'v1alpha2';

type Kind = 'InferenceObjective' | 'InferenceModelRewrite';
const PLURAL: Record<Kind, string> = { InferenceObjective: 'inferenceobjectives', InferenceModelRewrite: 'inferencemodelrewrites' };

/** Options of a {@link KubernetesPolicySource}. */
export interface KubernetesPolicySourceOptions {
  readonly client: KubeClient;
  readonly pool: PoolIdentity;
  readonly logger: Logger;
  readonly backoff?: BackoffOptions;
}

/** True when an object's `spec.poolRef` names the served pool (name and group, as upstream compares them). */
export function refersToPool(poolRef: { name: string; group?: string | null } | null | undefined, pool: PoolIdentity): boolean {
  return poolRef !== null && poolRef !== undefined && poolRef.name === pool.name && (poolRef.group ?? 'inference.networking.k8s.io') === pool.group;
}

/** An InferenceObjective (validated by @llmd/k8s-api) as the policy datastore holds it. */
export function objectiveRecordOf(o: InferenceObjective): ObjectiveRecord {
  const ref = o.spec.poolRef;
  return { name: o.metadata.name ?? '', namespace: o.metadata.namespace ?? 'default', priority: o.spec.priority ?? null, poolRef: { name: ref.name, group: ref.group, kind: ref.kind } };
}

/** An InferenceModelRewrite (validated by @llmd/k8s-api) as the policy datastore holds it; unset weights count 0 (uniform). */
export function rewriteRecordOf(r: InferenceModelRewrite): ModelRewriteRecord {
  const ref = r.spec.poolRef;
  const created = r.metadata.creationTimestamp ? Date.parse(r.metadata.creationTimestamp) : 0;
  return {
    name: r.metadata.name ?? '',
    namespace: r.metadata.namespace ?? 'default',
    createdAt: Number.isNaN(created) ? 0 : created,
    poolRef: { name: ref.name, group: ref.group, kind: ref.kind },
    rules: r.spec.rules.map((rule) => ({
      matches: (rule.matches ?? []).map((m) => m.model.value),
      targets: (rule.targets ?? []).map((t) => ({ modelRewrite: t.modelRewrite, weight: t.weight ?? 0 })),
    })),
  };
}

/**
 * The router's InferenceObjectives and InferenceModelRewrites from Kubernetes: watches both kinds
 * in the pool's namespace, in each group whose CRD is installed (`llm-d.ai/v1alpha2` and the older
 * `inference.networking.x-k8s.io/v1alpha2`), keeps those whose `poolRef` names the served pool, and
 * writes them into the policy datastore the director reads (the same one a policies file fills in
 * standalone mode). Objects that fail validation are logged and left out. When both groups hold an
 * object of the same name, the `llm-d.ai` one is used.
 */
export class KubernetesPolicySource {
  readonly #o: KubernetesPolicySourceOptions;
  readonly #logger: Logger;
  readonly #informers: Informer<KubeObject>[] = [];
  /** Valid, pool-matching objects by kind, then by `namespace/name`, then by group. */
  readonly #objects: Record<Kind, Map<string, Map<string, ObjectiveRecord | ModelRewriteRecord>>> = { InferenceObjective: new Map(), InferenceModelRewrite: new Map() };
  #store: PolicyDatastore | null = null;
  /** `kind group` pairs being watched (CRD present). */
  readonly watching: string[] = [];

  constructor(options: KubernetesPolicySourceOptions) {
    this.#o = options;
    this.#logger = options.logger.child({ component: 'policy-source', pool: `${options.pool.namespace}/${options.pool.name}` });
  }

  /** True once every watched kind has been listed. */
  get synced(): boolean {
    return this.#informers.every((i) => i.synced);
  }

  /** Finds which of the CRDs are installed, then starts watching those; resolves without waiting for the lists. */
  async start(store: PolicyDatastore): Promise<void> {
    if (this.#store) throw new Error('policy source: already started');
    this.#store = store;
    const { client, pool } = this.#o;
    for (const group of POLICY_GROUPS) {
      for (const kind of ['InferenceObjective', 'InferenceModelRewrite'] as const) {
        const path = `/apis/${group}/${VERSION}/namespaces/${encodeURIComponent(pool.namespace)}/${PLURAL[kind]}`;
        try {
          await client.get(path, { limit: 1 });
        } catch (err) {
          if (err instanceof KubeApiError && err.status === 404) {
            this.#logger.info({ kind, group }, 'CRD not installed; not watching it');
            continue;
          }
          if (err instanceof KubeApiError && (err.status === 401 || err.status === 403)) {
            this.#logger.warn({ kind, group, err: err.message }, `no permission to read ${PLURAL[kind]}.${group}; objectives and rewrites of this group are not applied`);
            continue;
          }
          // Transient: the informer keeps retrying.
          this.#logger.warn({ kind, group, err: (err as Error).message }, 'first read failed; retrying in the background');
        }
        const informer = new Informer<KubeObject>({
          what: `${kind} (${group})`,
          listWatch: collectionListWatch(client, path),
          logger: this.#logger,
          onChange: (change) => this.#onChange(kind, group, change),
          ...(this.#o.backoff ? { backoff: this.#o.backoff } : {}),
        });
        this.#informers.push(informer);
        this.watching.push(`${kind} ${group}`);
        informer.start();
      }
    }
  }

  /** Stops every watch (the datastore keeps what it has). */
  async stop(): Promise<void> {
    await Promise.all(this.#informers.map((i) => i.stop()));
  }

  #onChange(kind: Kind, group: string, change: InformerChange<KubeObject>): void {
    const meta = change.object.metadata ?? {};
    const key = `${meta.namespace ?? 'default'}/${meta.name ?? ''}`;
    let record: ObjectiveRecord | ModelRewriteRecord | null = null;
    if (change.type !== 'deleted') {
      const value = { ...(change.object as object), apiVersion: `${group}/${VERSION}`, kind };
      try {
        if (kind === 'InferenceObjective') {
          const o = parseResource(inferenceObjectiveSchemaFor(value.apiVersion), value) as InferenceObjective;
          if (refersToPool(o.spec.poolRef, this.#o.pool)) record = objectiveRecordOf(o);
        } else {
          const r = parseResource(inferenceModelRewriteSchemaFor(value.apiVersion), value) as InferenceModelRewrite;
          if (refersToPool(r.spec.poolRef, this.#o.pool)) record = rewriteRecordOf(r);
        }
      } catch (err) {
        this.#logger.error({ kind, group, object: key, err: (err as Error).message }, 'invalid object; leaving it out');
      }
    }
    const byGroup = this.#objects[kind].get(key) ?? new Map<string, ObjectiveRecord | ModelRewriteRecord>();
    if (record) byGroup.set(group, record);
    else byGroup.delete(group);
    if (byGroup.size > 0) this.#objects[kind].set(key, byGroup);
    else this.#objects[kind].delete(key);
    this.#publish(kind, meta.namespace ?? 'default', meta.name ?? '', byGroup);
  }

  /** Writes the winning group's record for one object, or removes it when no group has a valid one. */
  #publish(kind: Kind, namespace: string, name: string, byGroup: ReadonlyMap<string, ObjectiveRecord | ModelRewriteRecord>): void {
    const store = this.#store;
    if (!store) return;
    const winner = POLICY_GROUPS.map((g) => byGroup.get(g)).find((r) => r !== undefined);
    if (kind === 'InferenceObjective') {
      if (winner) store.upsertObjective(winner as ObjectiveRecord);
      else store.removeObjective(namespace, name);
    } else if (winner) {
      store.upsertRewrite(winner as ModelRewriteRecord);
    } else {
      store.removeRewrite(namespace, name);
    }
    this.#logger.debug({ kind, object: `${namespace}/${name}`, present: winner !== undefined }, 'policy updated');
  }
}
