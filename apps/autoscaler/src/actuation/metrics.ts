// The metrics an HPA or KEDA scales on: wva_desired_replicas and friends, upstream's names and labels.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/** Upstream's metric names. */
export const WVA_METRICS = {
  desiredReplicas: 'wva_desired_replicas',
  currentReplicas: 'wva_current_replicas',
  desiredRatio: 'wva_desired_ratio',
  replicaScalingTotal: 'wva_replica_scaling_total',
} as const;

/** Identity of one variant in the metrics. */
export interface VariantLabels {
  readonly variantName: string;
  readonly namespace: string;
  readonly acceleratorType: string;
}

/** Why replicas changed, as the low-cardinality `reason` label. */
export type ScalingReason = 'saturation' | 'queueing_model' | 'scale_to_zero' | 'scale_from_zero' | 'keep_minimum' | 'bounds' | 'limiter';

/** The autoscaler's Prometheus registry. */
export class ActuationMetrics {
  readonly registry = new Registry();
  readonly #desired: Gauge;
  readonly #current: Gauge;
  readonly #ratio: Gauge;
  readonly #scaling: Counter;
  readonly #instance: string | undefined;
  readonly #published = new Map<string, Record<string, string>>();

  /** `controllerInstance` (upstream's CONTROLLER_INSTANCE) adds a `controller_instance` label to every series. */
  constructor(options: { controllerInstance?: string | undefined; processMetrics?: boolean } = {}) {
    this.#instance = options.controllerInstance || undefined;
    const extra = this.#instance ? ['controller_instance'] : [];
    const labelNames = ['variant_name', 'namespace', 'accelerator_type', ...extra];
    const registers = [this.registry];
    this.#desired = new Gauge({ name: WVA_METRICS.desiredReplicas, help: 'Replicas the autoscaler wants for the variant.', labelNames, registers });
    this.#current = new Gauge({ name: WVA_METRICS.currentReplicas, help: 'Replicas the variant\'s target has now.', labelNames, registers });
    this.#ratio = new Gauge({ name: WVA_METRICS.desiredRatio, help: 'Desired over current replicas (the desired count when current is 0).', labelNames, registers });
    this.#scaling = new Counter({
      name: WVA_METRICS.replicaScalingTotal,
      help: 'Changes of the desired replica count, by direction and reason.',
      labelNames: ['variant_name', 'namespace', 'direction', 'reason', ...extra],
      registers,
    });
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry });
  }

  #labels(v: VariantLabels): Record<string, string> {
    const l: Record<string, string> = { variant_name: v.variantName, namespace: v.namespace, accelerator_type: v.acceleratorType };
    if (this.#instance) l.controller_instance = this.#instance;
    return l;
  }

  /** Publishes a variant's desired and current replicas. */
  publish(v: VariantLabels, desired: number, current: number): void {
    const key = `${v.namespace}/${v.variantName}`;
    const labels = this.#labels(v);
    const before = this.#published.get(key);
    if (before && before.accelerator_type !== labels.accelerator_type) this.#remove(before);
    this.#published.set(key, labels);
    this.#desired.set(labels, desired);
    this.#current.set(labels, current);
    this.#ratio.set(labels, current === 0 ? desired : desired / current);
  }

  /** Counts a change of the desired count. */
  countChange(v: VariantLabels, from: number, to: number, reason: ScalingReason): void {
    if (from === to) return;
    const labels: Record<string, string> = { variant_name: v.variantName, namespace: v.namespace, direction: to > from ? 'up' : 'down', reason };
    if (this.#instance) labels.controller_instance = this.#instance;
    this.#scaling.inc(labels);
  }

  /** Drops the series of variants not in `keep` (`namespace/name`), e.g. after their VariantAutoscaling was deleted. */
  retainOnly(keep: ReadonlySet<string>): void {
    for (const [key, labels] of this.#published) {
      if (keep.has(key)) continue;
      this.#remove(labels);
      this.#published.delete(key);
    }
  }

  #remove(labels: Record<string, string>): void {
    this.#desired.remove(labels);
    this.#current.remove(labels);
    this.#ratio.remove(labels);
  }

  /** The Prometheus text exposition. */
  async expose(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
