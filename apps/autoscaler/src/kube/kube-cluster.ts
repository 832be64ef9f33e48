// The controller's view of a Kubernetes cluster: VariantAutoscalings, their targets' /scale, ConfigMaps.
import {
  ACCELERATOR_NAME_LABEL,
  VARIANT_AUTOSCALING_API_VERSION,
  VariantAutoscalingSchema,
  describeObject,
  fieldPath,
  type Condition,
  type VariantAutoscaling,
  type VariantAutoscalingStatus,
} from '@llmd/k8s-api';
import type { Cluster, InvalidVariant, ListedVariant, VariantList } from '../cluster.js';
import { DEFAULT_VARIANT_COST, type TargetRef, type TargetState, type Variant } from '../model.js';
import { KubeApiError, type KubeClient } from '@llmd/k8s';

/** The label that assigns a VariantAutoscaling to one controller instance (upstream's multi-controller isolation). */
export const CONTROLLER_INSTANCE_LABEL = 'wva.llmd.ai/controller-instance';

/** Default API versions of the kinds a VariantAutoscaling may target. */
const KIND_API: Record<string, { apiVersion: string; plural: string }> = {
  Deployment: { apiVersion: 'apps/v1', plural: 'deployments' },
  StatefulSet: { apiVersion: 'apps/v1', plural: 'statefulsets' },
  LeaderWorkerSet: { apiVersion: 'leaderworkerset.x-k8s.io/v1', plural: 'leaderworkersets' },
};

/** The `/scale` path of a target. */
export function scalePath(namespace: string, target: TargetRef): string {
  const known = KIND_API[target.kind];
  if (!known) throw new Error(`unsupported scaleTargetRef.kind ${JSON.stringify(target.kind)} (Deployment, StatefulSet or LeaderWorkerSet)`);
  const apiVersion = target.apiVersion || known.apiVersion;
  const prefix = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  return `${prefix}/namespaces/${encodeURIComponent(namespace)}/${known.plural}/${encodeURIComponent(target.name)}/scale`;
}

/** The variant a VariantAutoscaling describes. */
export function variantFromResource(va: VariantAutoscaling): Variant {
  const spec = va.spec;
  const labels = (va.metadata.labels ?? {}) as Record<string, string>;
  const cost = Number(spec.variantCost);
  return {
    name: va.metadata.name ?? '',
    namespace: va.metadata.namespace ?? 'default',
    modelID: spec.modelID,
    target: { apiVersion: spec.scaleTargetRef.apiVersion ?? '', kind: spec.scaleTargetRef.kind, name: spec.scaleTargetRef.name },
    cost: Number.isFinite(cost) ? cost : DEFAULT_VARIANT_COST,
    accelerator: spec.accelerator ?? labels[ACCELERATOR_NAME_LABEL] ?? '',
    acceleratorCount: spec.acceleratorCount ?? 1,
    minReplicas: spec.minReplicas,
    maxReplicas: spec.maxReplicas,
    slo: spec.slo ? { ttftMs: spec.slo.targetTTFT, itlMs: spec.slo.targetITL } : undefined,
  };
}

interface RawObject {
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; generation?: number };
  status?: { conditions?: Condition[] };
}

/** Options of a {@link KubeCluster}. */
export interface KubeClusterOptions {
  /** Only this namespace ('' for all). */
  readonly watchNamespace: string;
  /** Only VariantAutoscalings labelled for this controller instance ('' for those without the label... and all when unset). */
  readonly controllerInstance?: string | undefined;
}

/** {@link Cluster} over the Kubernetes API. */
export class KubeCluster implements Cluster {
  readonly #client: KubeClient;
  readonly #options: KubeClusterOptions;

  constructor(client: KubeClient, options: KubeClusterOptions) {
    this.#client = client;
    this.#options = options;
  }

  async listVariants(): Promise<VariantList> {
    const ns = this.#options.watchNamespace;
    const base = `/apis/${VARIANT_AUTOSCALING_API_VERSION}`;
    const path = ns ? `${base}/namespaces/${encodeURIComponent(ns)}/variantautoscalings` : `${base}/variantautoscalings`;
    const instance = this.#options.controllerInstance;
    const selector = instance ? `?labelSelector=${encodeURIComponent(`${CONTROLLER_INSTANCE_LABEL}=${instance}`)}` : '';
    const list = await this.#client.request<{ items?: RawObject[] }>('GET', `${path}${selector}`);
    const variants: ListedVariant[] = [];
    const invalid: InvalidVariant[] = [];
    for (const raw of list.items ?? []) {
      const parsed = VariantAutoscalingSchema.safeParse({ apiVersion: VARIANT_AUTOSCALING_API_VERSION, kind: 'VariantAutoscaling', ...raw });
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        invalid.push({
          name: raw.metadata?.name ?? '',
          namespace: raw.metadata?.namespace ?? 'default',
          message: `${describeObject({ kind: 'VariantAutoscaling', ...raw })}: ${fieldPath(issue?.path ?? []) || '(object)'}: ${issue?.message ?? 'invalid'}`,
          conditions: raw.status?.conditions ?? [],
        });
        continue;
      }
      const va = parsed.data;
      variants.push({
        variant: variantFromResource(va),
        previousDesired: va.status?.desiredOptimizedAlloc?.numReplicas ?? null,
        previousUpdate: va.status?.desiredOptimizedAlloc?.lastUpdate,
        conditions: va.status?.conditions ?? [],
        generation: va.metadata.generation as number | undefined,
      });
    }
    return { variants, invalid };
  }

  async getScale(namespace: string, target: TargetRef): Promise<TargetState | null> {
    try {
      const scale = await this.#client.request<{ spec?: { replicas?: number }; status?: { replicas?: number } }>('GET', scalePath(namespace, target));
      return { specReplicas: scale.spec?.replicas ?? 0, statusReplicas: scale.status?.replicas ?? 0 };
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return null;
      throw err;
    }
  }

  async setScale(namespace: string, target: TargetRef, replicas: number): Promise<void> {
    await this.#client.request('PATCH', scalePath(namespace, target), { body: { spec: { replicas } } });
  }

  async writeStatus(namespace: string, name: string, status: VariantAutoscalingStatus): Promise<void> {
    const path = `/apis/${VARIANT_AUTOSCALING_API_VERSION}/namespaces/${encodeURIComponent(namespace)}/variantautoscalings/${encodeURIComponent(name)}/status`;
    await this.#client.request('PATCH', path, { body: { status } });
  }

  async readConfigMap(namespace: string, name: string): Promise<Record<string, string> | null> {
    try {
      const cm = await this.#client.request<{ data?: Record<string, string> }>('GET', `/api/v1/namespaces/${encodeURIComponent(namespace)}/configmaps/${encodeURIComponent(name)}`);
      return cm.data ?? {};
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return null;
      throw err;
    }
  }
}
