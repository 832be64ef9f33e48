// Collects the metrics of one model group from Prometheus and says, per variant, whether they can
// be trusted: missing and stale data are reported, never filled in.
import type { ReplicaMetrics, Variant } from '../model.js';
import { PrometheusError, type PromQueryClient, type VectorSample } from '../prometheus/client.js';
import { flowControlQueueQuery, groupQueries, promDuration, requestCountQuery, UPSTREAM_WINDOWS, type QueryWindows } from '../prometheus/queries.js';

/** Why a variant's metrics cannot be used (upstream's MetricsAvailable reasons). */
export type MetricsProblemReason = 'MetricsMissing' | 'MetricsStale' | 'PrometheusError';

/** The verdict on one variant's metrics. */
export type VariantMetricsStatus =
  | { readonly ok: true; readonly readyReplicas: number; readonly message: string }
  | { readonly ok: false; readonly reason: MetricsProblemReason; readonly readyReplicas: number; readonly message: string };

/** What the collector found for a model group. */
export interface GroupMetrics {
  /** Replicas with complete, fresh saturation metrics, each matched to a variant. */
  readonly replicas: readonly ReplicaMetrics[];
  /** Per variant name. */
  readonly status: ReadonlyMap<string, VariantMetricsStatus>;
  /** Requests waiting in the router's flow control for the model, when the router reports it. */
  readonly flowControlQueue: number | undefined;
  /** Pods reporting the model that match no variant's target. */
  readonly unmatchedPods: readonly string[];
  /** Prometheus's evaluation time of the saturation queries (ms since the epoch). */
  readonly evaluatedAtMs: number;
}

/** Collector settings. */
export interface CollectorOptions {
  readonly windows?: QueryWindows;
  /** A pod whose newest sample is older than this is stale (default 2 minutes). */
  readonly stalenessMs?: number;
  /** Flow-control queue metric names (default: both upstream names). */
  readonly flowControlMetrics?: readonly string[];
}

/** Which variant a pod belongs to: Deployment pods are named `<deployment>-<hash>-<suffix>`; the longest matching target wins. */
export function variantForPod(pod: string, variants: readonly Variant[]): Variant | undefined {
  let best: Variant | undefined;
  for (const v of variants) {
    if (pod.startsWith(`${v.target.name}-`) && (best === undefined || v.target.name.length > best.target.name.length)) best = v;
  }
  return best;
}

function byPod(samples: readonly VectorSample[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of samples) {
    const pod = s.labels.pod ?? s.labels.pod_name;
    if (pod) out.set(pod, s.value);
  }
  return out;
}

/** Where the controller gets its metrics: Prometheus, or (local mode) direct scrapes. */
export interface MetricsSource {
  /**
   * Collects the group of `modelID` in `namespace`. `currentReplicas` (per variant name) says how
   * many replicas each variant should have, so that "no metrics" can be told apart from "no pods".
   */
  collect(namespace: string, modelID: string, variants: readonly Variant[], currentReplicas: ReadonlyMap<string, number>): Promise<GroupMetrics>;
  /** Requests the model finished within `retentionMs`, or undefined when there is no series for it. */
  requestCount(namespace: string, modelID: string, retentionMs: number): Promise<number | undefined>;
  /** Requests queued in the router's flow control for `modelID`, or undefined when no router reports it. */
  flowControlQueue(modelID: string): Promise<number | undefined>;
}

/** Runs the group queries of each model against Prometheus and judges the answers. */
export class MetricsCollector implements MetricsSource {
  readonly #prom: PromQueryClient;
  readonly #windows: QueryWindows;
  readonly #stalenessMs: number;
  readonly #flowMetrics: readonly string[] | undefined;

  constructor(prom: PromQueryClient, options: CollectorOptions = {}) {
    this.#prom = prom;
    this.#windows = options.windows ?? UPSTREAM_WINDOWS;
    this.#stalenessMs = options.stalenessMs ?? 120_000;
    this.#flowMetrics = options.flowControlMetrics;
  }

  async collect(namespace: string, modelID: string, variants: readonly Variant[], currentReplicas: ReadonlyMap<string, number>): Promise<GroupMetrics> {
    const q = groupQueries(namespace, modelID, this.#windows);
    let kv: VectorSample[], queue: VectorSample[], fresh: VectorSample[];
    try {
      [kv, queue, fresh] = await Promise.all([this.#prom.query(q.kvUsage), this.#prom.query(q.queueLength), this.#prom.query(q.kvFreshness)]);
    } catch (err) {
      const message = err instanceof PrometheusError ? err.message : `query failed: ${(err as Error).message}`;
      const status = new Map<string, VariantMetricsStatus>(variants.map((v) => [v.name, { ok: false, reason: 'PrometheusError', readyReplicas: 0, message }]));
      return { replicas: [], status, flowControlQueue: undefined, unmatchedPods: [], evaluatedAtMs: Date.now() };
    }
    // The rest only enriches the replicas: a failure leaves those fields undefined.
    const optional = async (promql: string) => this.#prom.query(promql).catch(() => [] as VectorSample[]);
    const [cacheConfig, outTokens, inTokens, hitRate, arrival, growth, running, itl, prefill, ttft, flow] = await Promise.all([
      optional(q.cacheConfig),
      optional(q.avgOutputTokens),
      optional(q.avgInputTokens),
      optional(q.prefixHitRate),
      optional(q.arrivalRate),
      optional(q.queueGrowth),
      optional(q.avgRunning),
      optional(q.avgItl),
      optional(q.avgPrefill),
      optional(q.avgTtft),
      optional(flowControlQueueQuery(modelID, this.#flowMetrics)),
    ]);
    const evaluatedAtMs = kv[0]?.timestampMs ?? queue[0]?.timestampMs ?? Date.now();
    const kvByPod = byPod(kv);
    const queueByPod = byPod(queue);
    const freshByPod = byPod(fresh);
    const blocks = new Map<string, { numGpuBlocks: number; blockSize: number }>();
    for (const s of cacheConfig) {
      const pod = s.labels.pod;
      const numGpuBlocks = Number(s.labels.num_gpu_blocks);
      const blockSize = Number(s.labels.block_size);
      if (pod && numGpuBlocks > 0 && blockSize > 0) blocks.set(pod, { numGpuBlocks, blockSize });
    }
    const maps = { out: byPod(outTokens), in: byPod(inTokens), hit: byPod(hitRate), arrival: byPod(arrival), growth: byPod(growth), running: byPod(running), itl: byPod(itl), prefill: byPod(prefill), ttft: byPod(ttft) };
    const ms = (v: number | undefined) => (v === undefined ? undefined : v * 1000);

    const replicas: ReplicaMetrics[] = [];
    const unmatchedPods: string[] = [];
    const perVariant = new Map<string, { fresh: number; stale: string[]; incomplete: string[] }>(variants.map((v) => [v.name, { fresh: 0, stale: [], incomplete: [] }]));
    for (const pod of new Set([...kvByPod.keys(), ...queueByPod.keys()])) {
      const variant = variantForPod(pod, variants);
      if (!variant) {
        unmatchedPods.push(pod);
        continue;
      }
      const tally = perVariant.get(variant.name) as { fresh: number; stale: string[]; incomplete: string[] };
      const kvUsage = kvByPod.get(pod);
      const queueLength = queueByPod.get(pod);
      if (kvUsage === undefined || queueLength === undefined) {
        tally.incomplete.push(pod);
        continue;
      }
      const newest = freshByPod.get(pod);
      if (newest === undefined || evaluatedAtMs - newest * 1000 > this.#stalenessMs) {
        tally.stale.push(pod);
        continue;
      }
      tally.fresh++;
      const cache = blocks.get(pod);
      replicas.push({
        pod,
        variant: variant.name,
        kvUsage,
        queueLength,
        numGpuBlocks: cache?.numGpuBlocks,
        blockSize: cache?.blockSize,
        avgInputTokens: maps.in.get(pod),
        avgOutputTokens: maps.out.get(pod),
        prefixHitRate: maps.hit.get(pod),
        arrivalRate: maps.arrival.get(pod),
        queueGrowth: maps.growth.get(pod),
        avgRunning: maps.running.get(pod),
        avgItlMs: ms(maps.itl.get(pod)),
        avgPrefillMs: ms(maps.prefill.get(pod)),
        avgTtftMs: ms(maps.ttft.get(pod)),
      });
    }
    replicas.sort((a, b) => a.pod.localeCompare(b.pod));

    const status = new Map<string, VariantMetricsStatus>();
    for (const v of variants) {
      const t = perVariant.get(v.name) as { fresh: number; stale: string[]; incomplete: string[] };
      const current = currentReplicas.get(v.name) ?? 0;
      const notes: string[] = [];
      if (t.stale.length) notes.push(`stale: ${t.stale.join(', ')}`);
      if (t.incomplete.length) notes.push(`KV-cache or queue series missing: ${t.incomplete.join(', ')}`);
      const detail = notes.length ? ` (${notes.join('; ')})` : '';
      if (t.fresh > 0) {
        status.set(v.name, { ok: true, readyReplicas: t.fresh, message: `${t.fresh} of ${current} replicas report fresh metrics${detail}` });
      } else if (current === 0 && t.stale.length === 0 && t.incomplete.length === 0) {
        status.set(v.name, { ok: true, readyReplicas: 0, message: 'no replicas, so no metrics expected' });
      } else if (t.stale.length > 0) {
        status.set(v.name, {
          ok: false,
          reason: 'MetricsStale',
          readyReplicas: 0,
          message: `no replica of ${v.target.name} has a sample newer than ${Math.round(this.#stalenessMs / 1000)}s${detail}`,
        });
      } else {
        status.set(v.name, {
          ok: false,
          reason: 'MetricsMissing',
          readyReplicas: 0,
          message: `no vllm:kv_cache_usage_perc and vllm:num_requests_waiting series for pods of ${v.target.name} (namespace="${namespace}", model_name="${modelID}")${detail}`,
        });
      }
    }
    const flowControlQueue = flow.length > 0 ? flow.reduce((sum, s) => sum + s.value, 0) : undefined;
    return { replicas, status, flowControlQueue, unmatchedPods, evaluatedAtMs };
  }

  /** An empty answer (no series at all) is undefined, not 0: an unknown count never triggers scale to zero. */
  async requestCount(namespace: string, modelID: string, retentionMs: number): Promise<number | undefined> {
    const samples = await this.#prom.query(requestCountQuery(namespace, modelID, promDuration(retentionMs)));
    return samples.length > 0 ? samples.reduce((sum, s) => sum + s.value, 0) : undefined;
  }

  async flowControlQueue(modelID: string): Promise<number | undefined> {
    const samples = await this.#prom.query(flowControlQueueQuery(modelID, this.#flowMetrics));
    return samples.length > 0 ? samples.reduce((sum, s) => sum + s.value, 0) : undefined;
  }
}
