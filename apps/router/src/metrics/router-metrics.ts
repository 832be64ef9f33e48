import type { FlowControlObserver, FlowLabels } from '@llmd/flow-control';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

const DURATION_BUCKETS = [0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60, 120, 180, 240, 300, 360, 480, 600, 900, 1200, 1800, 2700, 3600];
const TOKEN_BUCKETS = [1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32778, 65536, 131072, 262144, 524288, 1048576];
const PLUGIN_BUCKETS = [0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1];
const QUEUE_BUCKETS = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Labels of the flow-control queue gauges (upstream's, with the model labels). */
export type FlowQueueLabel = 'fairness_id' | 'priority' | 'inference_pool' | 'model_name' | 'target_model_name';

/** Optional inputs of the metrics. */
export interface RouterMetricsOptions {
  /** Value of the `inference_pool` label (upstream's file mode uses `epp`). */
  poolName?: string;
  /** The pool's saturation now, for `llm_d_epp_flow_control_pool_saturation`; null when there is no detector. */
  poolSaturation?: () => number | null;
}

/**
 * The router's own Prometheus metrics, under upstream's `llm_d_epp_*` names: per-model request
 * counts, errors, durations, TTFT, token histograms and running requests; scheduler attempts and
 * latency; per-plugin latency; ready endpoints; model rewrites; flow-control queues.
 */
export class RouterMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'model_name' | 'target_model_name'>;
  readonly errors: Counter<'model_name' | 'target_model_name' | 'error_code'>;
  readonly duration: Histogram<'model_name' | 'target_model_name'>;
  readonly ttft: Histogram<'model_name' | 'target_model_name'>;
  readonly inputTokens: Histogram<'model_name' | 'target_model_name'>;
  readonly outputTokens: Histogram<'model_name' | 'target_model_name'>;
  readonly cachedTokens: Histogram<'model_name' | 'target_model_name'>;
  readonly running: Gauge<'model_name' | 'target_model_name'>;
  readonly schedulerAttempts: Counter<'status'>;
  readonly schedulerDuration: Histogram;
  readonly pluginDuration: Histogram<'extension_point' | 'plugin_type' | 'plugin_name'>;
  readonly readyEndpoints: Gauge;
  readonly pdDecisions: Counter<'model_name' | 'decision_type'>;
  readonly modelRewriteDecisions: Counter<'model_rewrite_name' | 'model_name' | 'target_model'>;
  readonly flowControlQueueSize: Gauge<FlowQueueLabel>;
  readonly flowControlQueueBytes: Gauge<FlowQueueLabel>;
  readonly flowControlQueueDuration: Histogram<FlowQueueLabel | 'outcome'>;
  readonly flowControlDispatchCycle: Histogram;
  readonly flowControlPoolSaturation: Gauge<'inference_pool'>;
  /** The `inference_pool` label value. */
  readonly poolName: string;

  constructor(readyEndpoints: () => number, options: RouterMetricsOptions = {}) {
    this.poolName = options.poolName ?? 'epp';
    const r = [this.registry];
    const modelLabels = ['model_name', 'target_model_name'] as const;
    this.requests = new Counter({ name: 'llm_d_epp_request_total', help: 'Requests received, per model.', labelNames: modelLabels, registers: r });
    this.errors = new Counter({ name: 'llm_d_epp_request_error_total', help: 'Requests that failed, per model and error code.', labelNames: [...modelLabels, 'error_code'], registers: r });
    this.duration = new Histogram({ name: 'llm_d_epp_request_duration_seconds', help: 'End-to-end request duration seen by the router.', labelNames: modelLabels, buckets: DURATION_BUCKETS, registers: r });
    this.ttft = new Histogram({ name: 'llm_d_epp_request_ttft_seconds', help: 'Time from routing to the first response bytes.', labelNames: modelLabels, buckets: DURATION_BUCKETS, registers: r });
    this.inputTokens = new Histogram({ name: 'llm_d_epp_request_input_tokens', help: 'Prompt tokens per request (from usage).', labelNames: modelLabels, buckets: TOKEN_BUCKETS, registers: r });
    this.outputTokens = new Histogram({ name: 'llm_d_epp_request_output_tokens', help: 'Completion tokens per request (from usage).', labelNames: modelLabels, buckets: TOKEN_BUCKETS, registers: r });
    this.cachedTokens = new Histogram({ name: 'llm_d_epp_request_cached_tokens', help: 'Prompt tokens served from the prefix cache (from usage).', labelNames: modelLabels, buckets: TOKEN_BUCKETS, registers: r });
    this.running = new Gauge({ name: 'llm_d_epp_request_running', help: 'Requests in flight through the router.', labelNames: modelLabels, registers: r });
    this.schedulerAttempts = new Counter({ name: 'llm_d_epp_scheduler_attempts_total', help: 'Scheduling attempts by outcome.', labelNames: ['status'], registers: r });
    this.schedulerDuration = new Histogram({ name: 'llm_d_epp_scheduler_e2e_duration_seconds', help: 'Time to schedule one request.', buckets: PLUGIN_BUCKETS, registers: r });
    this.pluginDuration = new Histogram({
      name: 'llm_d_epp_plugin_duration_seconds',
      help: 'Time spent in each plugin per request, by extension point.',
      labelNames: ['extension_point', 'plugin_type', 'plugin_name'],
      buckets: PLUGIN_BUCKETS,
      registers: r,
    });
    this.pdDecisions = new Counter({
      name: 'llm_d_epp_pd_decision_total',
      help: 'Prefill/decode disaggregation decisions: prefill-decode or decode-only.',
      labelNames: ['model_name', 'decision_type'],
      registers: r,
    });
    this.modelRewriteDecisions = new Counter({
      name: 'llm_d_epp_model_rewrite_decisions_total',
      help: 'Model rewrites applied, by InferenceModelRewrite, incoming model and target model.',
      labelNames: ['model_rewrite_name', 'model_name', 'target_model'],
      registers: r,
    });
    const queueLabels = ['fairness_id', 'priority', 'inference_pool', 'model_name', 'target_model_name'] as const;
    this.flowControlQueueSize = new Gauge({
      name: 'llm_d_epp_flow_control_queue_size',
      help: 'Requests waiting in flow control, per flow (fairness id, priority) and model.',
      labelNames: queueLabels,
      registers: r,
    });
    this.flowControlQueueBytes = new Gauge({
      name: 'llm_d_epp_flow_control_queue_bytes',
      help: 'Bytes of the requests waiting in flow control, per flow and model.',
      labelNames: queueLabels,
      registers: r,
    });
    this.flowControlQueueDuration = new Histogram({
      name: 'llm_d_epp_flow_control_request_queue_duration_seconds',
      help: 'Time from entering flow control to the final outcome (Dispatched, RejectedCapacity, EvictedTTL, EvictedContextCancelled, ...).',
      labelNames: [...queueLabels, 'outcome'],
      buckets: QUEUE_BUCKETS,
      registers: r,
    });
    this.flowControlDispatchCycle = new Histogram({
      name: 'llm_d_epp_flow_control_dispatch_cycle_duration_seconds',
      help: 'Time of one flow-control dispatch pass.',
      buckets: PLUGIN_BUCKETS,
      registers: r,
    });
    const saturation = options.poolSaturation;
    const pool = this.poolName;
    this.flowControlPoolSaturation = new Gauge({
      name: 'llm_d_epp_flow_control_pool_saturation',
      help: 'Saturation of the pool as the saturation detector sees it (1 or more = saturated).',
      labelNames: ['inference_pool'],
      registers: r,
      collect() {
        const v = saturation?.();
        if (v !== null && v !== undefined && Number.isFinite(v)) this.set({ inference_pool: pool }, v);
      },
    });
    this.readyEndpoints = new Gauge({
      name: 'llm_d_epp_ready_endpoints',
      help: 'Endpoints the router can route to.',
      registers: r,
      collect() {
        this.set(readyEndpoints());
      },
    });
  }
}

/** Feeds flow control's measurements into the `llm_d_epp_flow_control_*` metrics. */
export function flowControlObserver(metrics: RouterMetrics): FlowControlObserver {
  const pool = metrics.poolName;
  const queueLabels = (l: FlowLabels) => ({
    fairness_id: l.fairnessId,
    priority: String(l.priority),
    inference_pool: pool,
    model_name: l.modelName,
    target_model_name: l.targetModelName,
  });
  return {
    queueChanged(l, requests, bytes) {
      const labels = queueLabels(l);
      if (requests >= 0) metrics.flowControlQueueSize.inc(labels, requests);
      else metrics.flowControlQueueSize.dec(labels, -requests);
      if (bytes >= 0) metrics.flowControlQueueBytes.inc(labels, bytes);
      else metrics.flowControlQueueBytes.dec(labels, -bytes);
    },
    outcome(l, outcome, seconds) {
      metrics.flowControlQueueDuration.observe({ ...queueLabels(l), outcome }, seconds);
    },
    dispatchCycle(seconds) {
      metrics.flowControlDispatchCycle.observe(seconds);
    },
  };
}
