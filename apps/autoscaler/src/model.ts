// The autoscaler's domain model: variants, their replicas and metrics, and the decisions made for them.

/** Cost of a variant whose VariantAutoscaling gives none (upstream's default `variantCost`). */
export const DEFAULT_VARIANT_COST = 10;

/** The workload a VariantAutoscaling scales (HPA's CrossVersionObjectReference). */
export interface TargetRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
}

/** Latency-model parameters of one variant, in milliseconds: `ITL = α + β·n`, `prefill = γ + δ·tokens·n`. */
export interface PerfParams {
  readonly alpha: number;
  readonly beta: number;
  readonly gamma: number;
  readonly delta: number;
}

/** Latency targets in milliseconds; undefined means "infer from the model". */
export interface SloTargets {
  readonly ttftMs?: number | undefined;
  readonly itlMs?: number | undefined;
}

/**
 * One variant as the autoscaler sees it: the VariantAutoscaling's spec in the units the analyzers
 * use (a model on a given accelerator, with its cost and bounds).
 */
export interface Variant {
  /** The VariantAutoscaling's name (upstream's `variant_name` label). */
  readonly name: string;
  readonly namespace: string;
  /** Variants with the same modelID (in one namespace) form a group. */
  readonly modelID: string;
  readonly target: TargetRef;
  /** Cost of one replica. */
  readonly cost: number;
  /** Accelerator type, or '' when the spec names none. */
  readonly accelerator: string;
  /** Accelerators one replica uses (for the limited mode's inventory). */
  readonly acceleratorCount: number;
  /** 0 allows scale to zero. */
  readonly minReplicas: number;
  readonly maxReplicas: number;
  /** Configured latency-model parameters, if any (the SLO analyzer fits them otherwise). */
  readonly perfParams?: PerfParams | undefined;
  /** Most requests one replica runs at once (vLLM `--max-num-seqs`), for the queueing model. */
  readonly maxBatchSize?: number | undefined;
  /** Latency targets from the spec, if any. */
  readonly slo?: SloTargets | undefined;
}

/** What the cluster says about a variant's target workload. */
export interface TargetState {
  /** Replicas the target asks for (`spec.replicas` of its `/scale`). */
  readonly specReplicas: number;
  /** Replicas the target reports (`status.replicas` of its `/scale`). */
  readonly statusReplicas: number;
}

/** A variant with its observed state, as handed to the analyzers. */
export interface VariantState {
  readonly variant: Variant;
  /** Replicas the target asks for now. */
  readonly currentReplicas: number;
  /** Replicas that report fresh metrics (upstream's "ready" replicas). */
  readonly readyReplicas: number;
  /** The last desired count this autoscaler published, or null when it has none yet. */
  readonly previousDesired: number | null;
}

/** Metrics of one model-server replica (one pod). */
export interface ReplicaMetrics {
  readonly pod: string;
  /** The variant whose target owns the pod. */
  readonly variant: string;
  /** Peak KV-cache usage over the window, 0..1. */
  readonly kvUsage: number;
  /** Peak waiting-queue length over the window. */
  readonly queueLength: number;
  /** From `vllm:cache_config_info`, when reported. */
  readonly numGpuBlocks?: number | undefined;
  readonly blockSize?: number | undefined;
  /** Average prompt and generation tokens per request over the rate window, when there were requests. */
  readonly avgInputTokens?: number | undefined;
  readonly avgOutputTokens?: number | undefined;
  /** Prefix-cache hit rate over the rate window, when there were lookups. */
  readonly prefixHitRate?: number | undefined;
  /** Requests finished per second over the arrival window. */
  readonly arrivalRate?: number | undefined;
  /** Growth of the waiting queue per second over the arrival window (arrivals the replica could not keep up with). */
  readonly queueGrowth?: number | undefined;
  /** Mean requests running over the arrival window. */
  readonly avgRunning?: number | undefined;
  /** Mean inter-token latency (ms) and prefill time (ms) over the arrival window, when tokens were produced. */
  readonly avgItlMs?: number | undefined;
  readonly avgPrefillMs?: number | undefined;
  readonly avgTtftMs?: number | undefined;
}

/** What a scaling decision says about one variant. */
export interface VariantDecision {
  readonly variant: string;
  readonly namespace: string;
  readonly modelID: string;
  readonly accelerator: string;
  readonly currentReplicas: number;
  readonly desiredReplicas: number;
  /** Why, in a few words (also the `reason` label of `wva_replica_scaling_total`). */
  readonly reason: string;
}

/** The group a variant belongs to: its namespace and modelID. */
export function groupKey(v: { readonly namespace: string; readonly modelID: string }): string {
  return `${v.namespace}/${v.modelID}`;
}

/** Clamps a replica count to a variant's bounds. */
export function clampReplicas(v: Variant, replicas: number): number {
  return Math.min(v.maxReplicas, Math.max(v.minReplicas, replicas));
}
