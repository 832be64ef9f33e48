/**
 * HTTP header names and Envoy metadata keys the stack reads and writes, spelled as upstream
 * spells them (Gateway API Inference Extension endpoint picker protocol, llm-d-router,
 * llm-d-inference-sim, the P/D sidecar). All lower case, as Node and HTTP/2 present them.
 */

// --- Endpoint picker protocol (router ⇄ proxy) ---

/** Set by the router on the request: the chosen endpoint `ip:port`, then fallbacks, comma-joined; Envoy's ORIGINAL_DST cluster routes on it. */
export const DESTINATION_ENDPOINT_HEADER = 'x-gateway-destination-endpoint';

/** Dynamic-metadata namespace in which the router repeats the destination (same key, same value as the header). */
export const LB_METADATA_NAMESPACE = 'envoy.lb';

/** Key under {@link LB_METADATA_NAMESPACE} in the response metadata where the proxy reports which endpoint actually served the request. */
export const DESTINATION_ENDPOINT_SERVED_KEY = 'x-gateway-destination-endpoint-served';

/** Filter-metadata namespace in which the proxy may pass the router a subset hint. */
export const SUBSET_HINT_NAMESPACE = 'envoy.lb.subset_hint';

/** Key under {@link SUBSET_HINT_NAMESPACE}: the `ip:port` list the router must pick from (read by the router; an empty list means no candidates). */
export const DESTINATION_ENDPOINT_SUBSET_KEY = 'x-gateway-destination-endpoint-subset';

/** Key under {@link LB_METADATA_NAMESPACE} where the router, with `--emit-endpoint-scores`, publishes its per-endpoint scores. */
export const DESTINATION_ENDPOINT_SCORES_KEY = 'x-gateway-destination-endpoint-scores';

/** Set by the router on the response-headers reply, marking that the response passed through it. */
export const WENT_INTO_RESP_HEADERS_HEADER = 'x-went-into-resp-headers';

// --- Client → router request headers (llm-d `epp-http-headers`) ---

/** Sent by clients; read by the router: the InferenceObjective (by `metadata.name`) giving the request's priority. */
export const OBJECTIVE_HEADER = 'x-llm-d-inference-objective';

/** Deprecated alias of {@link OBJECTIVE_HEADER}, still read by the router. */
export const OBJECTIVE_HEADER_DEPRECATED = 'x-gateway-inference-objective';

/** Sent by clients; read by flow control: the fairness flow of the request (default {@link DEFAULT_FAIRNESS_ID}). */
export const FAIRNESS_ID_HEADER = 'x-llm-d-inference-fairness-id';

/** Deprecated alias of {@link FAIRNESS_ID_HEADER}, still read by the router. */
export const FAIRNESS_ID_HEADER_DEPRECATED = 'x-gateway-inference-fairness-id';

/** The fairness id flow control uses when a request carries none. */
export const DEFAULT_FAIRNESS_ID = 'default-flow';

/** Sent by clients or a gateway filter; read by the router: the model name to write into `body.model` instead of the client's. */
export const MODEL_NAME_REWRITE_HEADER = 'x-llm-d-model-name-rewrite';

/** Deprecated alias of {@link MODEL_NAME_REWRITE_HEADER}, still read by the router. */
export const MODEL_NAME_REWRITE_HEADER_DEPRECATED = 'x-gateway-model-name-rewrite';

/** Sent by clients; read by SLO-aware scheduling: the time-to-first-token target in milliseconds. */
export const SLO_TTFT_MS_HEADER = 'x-llm-d-slo-ttft-ms';

/** Deprecated alias of {@link SLO_TTFT_MS_HEADER}. */
export const SLO_TTFT_MS_HEADER_DEPRECATED = 'x-slo-ttft-ms';

/** Sent by clients; read by SLO-aware scheduling: the time-per-output-token target in milliseconds. */
export const SLO_TPOT_MS_HEADER = 'x-llm-d-slo-tpot-ms';

/** Deprecated alias of {@link SLO_TPOT_MS_HEADER}. */
export const SLO_TPOT_MS_HEADER_DEPRECATED = 'x-slo-tpot-ms';

/** Sent by clients; read by flow control: this request's queue-wait budget as a Go duration (`2s`, `500ms`); invalid values are ignored. */
export const INFERENCE_TTL_HEADER = 'x-llm-d-inference-ttl';

/** Set by the router on responses of requests that passed flow control: the time they waited there, in whole milliseconds. */
export const FLOW_QUEUE_DURATION_HEADER = 'x-llm-d-flow-queue-duration-ms';

/** Set by the payload processor (IPP, formerly BBR) from `body.model` so a gateway can route by model. */
export const GATEWAY_MODEL_NAME_HEADER = 'x-gateway-model-name';

/** Request id: the router adds a UUID when the client sent none; the P/D sidecar sends one id on both legs; the simulator reads it. */
export const REQUEST_ID_HEADER = 'x-request-id';

/** Session affinity: the router sets it on the response to base64(`namespace/pod`); the client sends it back and the session-affinity scorer prefers that pod. */
export const SESSION_TOKEN_HEADER = 'x-session-token';

/** Read by the header-based testing filter: a list of pod IPs the router must keep (conformance tests only). */
export const TEST_ENDPOINT_SELECTION_HEADER = 'test-epp-endpoint-selection';

// --- Router → client response headers ---

/** Set by the router on shed or failed requests (429/503): why, one of {@link REQUEST_DROPPED_REASONS}. */
export const REQUEST_DROPPED_REASON_HEADER = 'x-llm-d-request-dropped-reason';

/** Values of {@link REQUEST_DROPPED_REASON_HEADER}. */
export const REQUEST_DROPPED_REASONS = [
  'rejected-saturated',
  'rejected-ttl-expired',
  'rejected-context-cancelled',
  'rejected-no-endpoints',
  'rejected-shutting-down',
  'rejected-internal',
  'evicted',
  'evicted-queue-pressure',
  'evicted-priority',
] as const;

/** One of {@link REQUEST_DROPPED_REASONS}. */
export type RequestDroppedReason = (typeof REQUEST_DROPPED_REASONS)[number];

// --- Prefill/decode disaggregation (router → P/D sidecar) ---

/** Set by the router's prefill-header handler (clearing any client copy); read by the P/D sidecar: the prefill pod's `host:port`. */
export const PREFILLER_HOST_PORT_HEADER = 'x-prefiller-host-port';

/** Legacy name of {@link PREFILLER_HOST_PORT_HEADER}, still read by the sidecar. */
export const PREFILLER_URL_HEADER_LEGACY = 'x-prefiller-url';

/** Set by the router for encode disaggregation; read by the sidecar: the encoder pods' `ip:port` list. */
export const ENCODER_HOSTS_PORTS_HEADER = 'x-encoder-hosts-ports';

/** Read by the P/D sidecar (2026 versions): the data-parallel rank to use on the chosen pod. */
export const DATA_PARALLEL_RANK_HEADER = 'x-data-parallel-rank';

/** Set by the router for data-parallel pods; the sidecar proxies to the rank listening on that `ip:port`. Deprecated upstream. */
export const DATA_PARALLEL_HOST_PORT_HEADER = 'x-data-parallel-host-port';

/** Set by the router; read by the sidecar: the `ip:port` holding most of the prompt's cached prefix, to pull over the P2P connector instead of recomputing. */
export const KV_CACHE_SOURCE_HOST_PORT_HEADER = 'x-kv-cache-source-host-port';

// --- Model server (llm-d-inference-sim) headers ---

/** Set by the simulator on every response when `POD_NAME` is set: the serving pod's name; end-to-end tests assert routing with it. */
export const INFERENCE_POD_HEADER = 'x-inference-pod';

/** Set by the simulator when `POD_NAMESPACE` is set: the serving pod's namespace. */
export const INFERENCE_NAMESPACE_HEADER = 'x-inference-namespace';

/** Set by the simulator alongside {@link INFERENCE_POD_HEADER}: the port that served the request. */
export const INFERENCE_PORT_HEADER = 'x-inference-port';

/** Read by the simulator: answer with this HTTP status and the matching OpenAI error (test hook). */
export const RETURN_ERROR_HEADER = 'x-return-error';

/** Read by the simulator: `true` forces `finish_reason: cache_threshold` whatever the cache hit rate (test hook). */
export const CACHE_THRESHOLD_FINISH_REASON_HEADER = 'x-cache-threshold-finish-reason';

// --- Helpers ---

/** Deprecated or legacy names still accepted for a header, keyed by its current name. */
export const HEADER_ALIASES: Readonly<Record<string, readonly string[]>> = {
  [OBJECTIVE_HEADER]: [OBJECTIVE_HEADER_DEPRECATED],
  [FAIRNESS_ID_HEADER]: [FAIRNESS_ID_HEADER_DEPRECATED],
  [MODEL_NAME_REWRITE_HEADER]: [MODEL_NAME_REWRITE_HEADER_DEPRECATED],
  [SLO_TTFT_MS_HEADER]: [SLO_TTFT_MS_HEADER_DEPRECATED],
  [SLO_TPOT_MS_HEADER]: [SLO_TPOT_MS_HEADER_DEPRECATED],
  [PREFILLER_HOST_PORT_HEADER]: [PREFILLER_URL_HEADER_LEGACY],
};

/**
 * Request headers the router consumes and does not forward to the model server: the
 * objective, rewrite, fairness and SLO headers (with their aliases), the subset hint,
 * `content-length` (the body may be rewritten) and the destination header it sets itself.
 */
export const ROUTER_OWNED_REQUEST_HEADERS: ReadonlySet<string> = new Set([
  'content-length',
  DESTINATION_ENDPOINT_HEADER,
  DESTINATION_ENDPOINT_SUBSET_KEY,
  ...[OBJECTIVE_HEADER, FAIRNESS_ID_HEADER, MODEL_NAME_REWRITE_HEADER, SLO_TTFT_MS_HEADER, SLO_TPOT_MS_HEADER].flatMap(
    (name) => [name, ...(HEADER_ALIASES[name] ?? [])],
  ),
]);

/** Header maps as Node (`IncomingHttpHeaders`) and plain objects hold them. */
export type HeaderRecord = Readonly<Record<string, string | readonly string[] | undefined>>;

/** Reads `name` from a record, falling back to a case-insensitive scan for hand-built records. */
function readOne(headers: HeaderRecord | Headers, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const record = headers as HeaderRecord;
  let value = record[name];
  if (value === undefined) {
    for (const key of Object.keys(record)) {
      if (key.toLowerCase() === name) {
        value = record[key];
        break;
      }
    }
  }
  return Array.isArray(value) ? value[0] : (value as string | undefined);
}

/**
 * The value of a header by its current name, else by its deprecated aliases from
 * {@link HEADER_ALIASES}, so callers honour both spellings without listing them. Empty values
 * count as absent. Works on Node header records and fetch `Headers`.
 */
export function headerValue(headers: HeaderRecord | Headers, name: string): string | undefined {
  const canonical = name.toLowerCase();
  for (const candidate of [canonical, ...(HEADER_ALIASES[canonical] ?? [])]) {
    const value = readOne(headers, candidate);
    if (value !== undefined && value !== '') return value;
  }
  return undefined;
}
