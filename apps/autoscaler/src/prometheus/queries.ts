// The PromQL the collector runs, with upstream's shapes. Label values are always escaped.
import { VLLM_METRICS } from '@llmd/model-server';

/** Escapes a label value for a double-quoted PromQL string: `\` → `\\`, `"` → `\"` (and newlines). */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** Windows of the queries, as PromQL durations. */
export interface QueryWindows {
  /** Peak window of the saturation gauges (upstream: 1m). */
  readonly saturation: string;
  /** Rate window of token averages and prefix hits (upstream: 5m). */
  readonly rate: string;
  /** Rate window of arrivals and latencies for the queueing model (upstream Inferno: 1m). */
  readonly arrival: string;
}

/** Upstream's windows. */
export const UPSTREAM_WINDOWS: QueryWindows = Object.freeze({ saturation: '1m', rate: '5m', arrival: '1m' });

/** Flow-control queue metric names of the router: the upstream GIE name and the llm-d v0.8 name. */
export const FLOW_CONTROL_QUEUE_METRICS = ['inference_extension_flow_control_queue_size', 'llm_d_epp_flow_control_queue_size'] as const;

/** Every query of one model group, built once per group and cycle. */
export interface GroupQueries {
  readonly kvUsage: string;
  readonly queueLength: string;
  readonly kvFreshness: string;
  readonly cacheConfig: string;
  readonly avgOutputTokens: string;
  readonly avgInputTokens: string;
  readonly prefixHitRate: string;
  readonly arrivalRate: string;
  readonly queueGrowth: string;
  readonly avgRunning: string;
  readonly avgItl: string;
  readonly avgPrefill: string;
  readonly avgTtft: string;
}

/** The queries for the replicas of `modelID` in `namespace`. */
export function groupQueries(namespace: string, modelID: string, w: QueryWindows = UPSTREAM_WINDOWS): GroupQueries {
  const sel = `{namespace="${escapeLabelValue(namespace)}",model_name="${escapeLabelValue(modelID)}"}`;
  const ratio = (sum: string, count: string, window: string) => `max by (pod) (rate(${sum}${sel}[${window}]) / rate(${count}${sel}[${window}]))`;
  const hist = (name: string, window: string) => ratio(`${name}_sum`, `${name}_count`, window);
  return {
    kvUsage: `max by (pod) (max_over_time(${VLLM_METRICS.kvCacheUsagePerc}${sel}[${w.saturation}]))`,
    queueLength: `max by (pod) (max_over_time(${VLLM_METRICS.numRequestsWaiting}${sel}[${w.saturation}]))`,
    // The age of each pod's newest sample: a pod whose scrapes stopped still shows in max_over_time for a while.
    kvFreshness: `max by (pod) (timestamp(${VLLM_METRICS.kvCacheUsagePerc}${sel}))`,
    cacheConfig: `max by (pod, num_gpu_blocks, block_size) (${VLLM_METRICS.cacheConfigInfo}${sel})`,
    avgOutputTokens: hist(VLLM_METRICS.requestGenerationTokens, w.rate),
    avgInputTokens: hist(VLLM_METRICS.requestPromptTokens, w.rate),
    // Counters are read under their exposition names (with `_total`), the series Prometheus stores.
    prefixHitRate: ratio(VLLM_METRICS.prefixCacheHitsTotal, VLLM_METRICS.prefixCacheQueriesTotal, w.rate),
    arrivalRate: `sum by (pod) (rate(${VLLM_METRICS.requestSuccessTotal}${sel}[${w.arrival}]))`,
    queueGrowth: `max by (pod) (deriv(${VLLM_METRICS.numRequestsWaiting}${sel}[${w.arrival}]))`,
    avgRunning: `max by (pod) (avg_over_time(${VLLM_METRICS.numRequestsRunning}${sel}[${w.arrival}]))`,
    avgItl: hist(VLLM_METRICS.interTokenLatencySeconds, w.arrival),
    avgPrefill: hist(VLLM_METRICS.requestPrefillTimeSeconds, w.arrival),
    avgTtft: hist(VLLM_METRICS.timeToFirstTokenSeconds, w.arrival),
  };
}

/**
 * Requests queued in the router's flow control for a model: the series labelled with the model as
 * target, or else those of requests without a rewrite (`target_model_name=""`). One query per metric
 * name, joined with `or`.
 */
export function flowControlQueueQuery(modelID: string, metricNames: readonly string[] = FLOW_CONTROL_QUEUE_METRICS): string {
  const m = escapeLabelValue(modelID);
  return metricNames.map((name) => `sum(${name}{target_model_name="${m}"}) or sum(${name}{model_name="${m}",target_model_name=""})`).join(' or ');
}

/** Requests the model finished in the retention window (scale-to-zero's idle check). */
export function requestCountQuery(namespace: string, modelID: string, retention: string): string {
  return `sum(increase(${VLLM_METRICS.requestSuccessTotal}{namespace="${escapeLabelValue(namespace)}",model_name="${escapeLabelValue(modelID)}"}[${retention}]))`;
}

/** A duration in milliseconds as a PromQL duration (`90s`, `10m`, `250ms`). */
export function promDuration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${Math.round(ms)}ms`;
}
