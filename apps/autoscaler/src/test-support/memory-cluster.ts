// In-memory stand-ins for the controller's two ports (cluster, metrics source), for unit tests of
// the decision logic. The integration tests use the real ones.
import type { VariantAutoscalingStatus } from '@llmd/k8s-api';
import type { Cluster, ListedVariant, VariantList } from '../cluster.js';
import type { GroupMetrics, MetricsSource, VariantMetricsStatus } from '../collector/collector.js';
import type { ReplicaMetrics, TargetRef, TargetState, Variant } from '../model.js';

/** Variants, targets, ConfigMaps and statuses in maps. */
export class MemoryCluster implements Cluster {
  readonly variants: Variant[] = [];
  readonly replicas = new Map<string, number>();
  readonly statuses = new Map<string, VariantAutoscalingStatus>();
  readonly configMaps = new Map<string, Record<string, string>>();
  readonly scaleCalls: Array<{ target: string; replicas: number }> = [];

  /** Adds a variant whose target (named like it) has `replicas`. */
  add(v: Variant, replicas: number): this {
    this.variants.push(v);
    this.replicas.set(v.target.name, replicas);
    return this;
  }

  async listVariants(): Promise<VariantList> {
    const variants: ListedVariant[] = this.variants.map((variant) => {
      const s = this.statuses.get(variant.name);
      return { variant, previousDesired: s?.desiredOptimizedAlloc?.numReplicas ?? null, previousUpdate: s?.desiredOptimizedAlloc?.lastUpdate, conditions: s?.conditions ?? [] };
    });
    return { variants, invalid: [] };
  }

  async getScale(_ns: string, target: TargetRef): Promise<TargetState | null> {
    const n = this.replicas.get(target.name);
    return n === undefined ? null : { specReplicas: n, statusReplicas: n };
  }

  async setScale(_ns: string, target: TargetRef, replicas: number): Promise<void> {
    this.scaleCalls.push({ target: target.name, replicas });
    this.replicas.set(target.name, replicas);
  }

  async writeStatus(_ns: string, name: string, status: VariantAutoscalingStatus): Promise<void> {
    this.statuses.set(name, { ...(this.statuses.get(name) ?? {}), ...status });
  }

  async readConfigMap(ns: string, name: string): Promise<Record<string, string> | null> {
    return this.configMaps.get(`${ns}/${name}`) ?? null;
  }
}

/** Replica metrics set by the test; every variant with replicas counts as reporting. */
export class MemoryMetrics implements MetricsSource {
  replicas: ReplicaMetrics[] = [];
  /** Variants whose metrics are missing (name → reason). */
  readonly broken = new Map<string, 'MetricsMissing' | 'MetricsStale' | 'PrometheusError'>();
  requests: number | undefined = 0;
  routerQueue: number | undefined = undefined;

  async collect(_ns: string, _model: string, variants: readonly Variant[], current: ReadonlyMap<string, number>): Promise<GroupMetrics> {
    const status = new Map<string, VariantMetricsStatus>();
    for (const v of variants) {
      const reason = this.broken.get(v.name);
      const ready = this.replicas.filter((r) => r.variant === v.name).length;
      if (reason) status.set(v.name, { ok: false, reason, readyReplicas: 0, message: `${reason} for ${v.name}` });
      else status.set(v.name, { ok: true, readyReplicas: ready, message: `${ready} of ${current.get(v.name) ?? 0}` });
    }
    const names = new Set(variants.map((v) => v.name));
    return { replicas: this.replicas.filter((r) => names.has(r.variant)), status, flowControlQueue: this.routerQueue, unmatchedPods: [], evaluatedAtMs: Date.now() };
  }

  async requestCount(): Promise<number | undefined> {
    return this.requests;
  }

  async flowControlQueue(): Promise<number | undefined> {
    return this.routerQueue;
  }
}

/** A variant with defaults for tests. */
export function testVariant(name: string, over: Partial<Variant> = {}): Variant {
  return { name, namespace: 'ns', modelID: 'm', target: { apiVersion: 'apps/v1', kind: 'Deployment', name }, cost: 10, accelerator: '', acceleratorCount: 1, minReplicas: 1, maxReplicas: 5, ...over };
}
