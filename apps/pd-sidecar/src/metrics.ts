import { Counter, Histogram, Registry } from 'prom-client';

/** Latency buckets of the stage histograms, seconds (a few milliseconds to minutes of streaming). */
const STAGE_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/** Stage label values of `llm_d_disagg_sidecar_request_errors_total`. */
export type Stage = 'prefill' | 'decode';

/**
 * The sidecar's own metrics, under upstream's names (`llm_d_disagg_sidecar_*`), served on
 * `--metrics-port`. The model server's metrics stay on the proxied `/metrics`.
 */
export class SidecarMetrics {
  readonly registry = new Registry();
  /** Requests on the two OpenAI paths, by `api_type` (`completions`, `chat_completions`). */
  readonly requests: Counter<'api_type'>;
  /** Requests that ran a prefill leg, by connector. */
  readonly disaggregated: Counter<'connector'>;
  /** Wall time of the prefill leg (all attempts), by connector. */
  readonly prefillDuration: Histogram<'connector'>;
  /** Wall time of the decode leg until its last byte, by connector. */
  readonly decodeDuration: Histogram<'connector'>;
  /** Failed prefill or decode legs, by connector and stage. */
  readonly errors: Counter<'connector' | 'stage'>;

  constructor() {
    const registers = [this.registry];
    this.requests = new Counter({ name: 'llm_d_disagg_sidecar_requests_total', help: 'Total requests handled by the sidecar, by OpenAI API type.', labelNames: ['api_type'], registers });
    this.disaggregated = new Counter({ name: 'llm_d_disagg_sidecar_disagg_requests_total', help: 'Total requests routed through disaggregation, by connector.', labelNames: ['connector'], registers });
    this.prefillDuration = new Histogram({ name: 'llm_d_disagg_sidecar_prefill_duration_seconds', help: 'Prefill stage latency in seconds, by connector.', labelNames: ['connector'], buckets: STAGE_BUCKETS, registers });
    this.decodeDuration = new Histogram({ name: 'llm_d_disagg_sidecar_decode_duration_seconds', help: 'Decode stage latency in seconds, by connector.', labelNames: ['connector'], buckets: STAGE_BUCKETS, registers });
    this.errors = new Counter({ name: 'llm_d_disagg_sidecar_request_errors_total', help: 'Total prefill/decode stage errors, by connector and stage.', labelNames: ['connector', 'stage'], registers });
  }

  /** Prometheus text exposition. */
  async expose(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
