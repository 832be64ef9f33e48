import type { EndpointMetrics } from '@llmd/scheduling';
import type { Sample } from './prometheus-text.js';

/** A metric to read: its name and labels a series must carry (`name{k=v}`). */
export interface MetricSpec {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

/**
 * Where one model-server engine publishes the metrics the router reads. Each field lists
 * alternatives in order of preference (the first spec with a matching series wins), so a mapping can
 * accept a metric's current and deprecated names; an empty list disables the field.
 */
export interface EngineMapping {
  /** Gauge: requests waiting in the queue. */
  readonly waitingQueueSize: readonly MetricSpec[];
  /** Gauge: requests in the running batch. */
  readonly runningRequestsSize: readonly MetricSpec[];
  /** Gauge 0..1: KV-cache usage. */
  readonly kvCacheUsagePercent: readonly MetricSpec[];
  /** Info gauge with labels running_lora_adapters, waiting_lora_adapters, max_lora; value = update time. */
  readonly loraRequestsInfo: readonly MetricSpec[];
  /** Info gauge whose labels carry the block size and block count. */
  readonly cacheConfigInfo: readonly MetricSpec[];
  /** Label of `cacheConfigInfo` holding the block size. */
  readonly cacheBlockSizeLabel: string;
  /** Label of `cacheConfigInfo` holding the number of GPU blocks. */
  readonly cacheNumBlocksLabel: string;
  /** Gauge: block size, for engines without a cache info metric. */
  readonly cacheBlockSize: readonly MetricSpec[];
  /** Gauge: number of GPU blocks, for engines without a cache info metric. */
  readonly cacheNumBlocks: readonly MetricSpec[];
}

/** Pod label that names an endpoint's engine (upstream `llm-d.ai/engine-type`). */
export const ENGINE_TYPE_LABEL = 'llm-d.ai/engine-type';

/** Engine assumed for endpoints without the engine label. */
export const DEFAULT_ENGINE = 'vllm';

const LORA_RUNNING_LABEL = 'running_lora_adapters';
const LORA_WAITING_LABEL = 'waiting_lora_adapters';
const LORA_MAX_LABEL = 'max_lora';

/**
 * Parses a metric spec in PromQL selector syntax, `name` or `name{k=v,k2="v2"}` (quotes optional,
 * equality matchers only). Throws an error naming the spec when it is malformed.
 */
export function parseMetricSpec(spec: string): MetricSpec {
  const m = /^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?:\{(.*)\})?\s*$/s.exec(spec);
  if (!m) throw new Error(`metric spec ${JSON.stringify(spec)}: expected name or name{label=value,…}`);
  const labels: Record<string, string> = {};
  const body = (m[2] ?? '').trim();
  if (body !== '') {
    const re = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^",}\s]+))\s*(,|$)/gy;
    let consumed = 0;
    for (let l = re.exec(body); l; l = re.exec(body)) {
      labels[l[1] as string] = l[2] !== undefined ? l[2].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c)) : (l[3] as string);
      consumed = re.lastIndex;
      if (l[4] === '') break;
    }
    if (consumed !== body.length) throw new Error(`metric spec ${JSON.stringify(spec)}: malformed label matchers`);
  }
  return Object.freeze({ name: m[1] as string, labels: Object.freeze(labels) });
}

function specs(...texts: string[]): readonly MetricSpec[] {
  return Object.freeze(texts.map(parseMetricSpec));
}

function mapping(fields: Partial<EngineMapping>): EngineMapping {
  return Object.freeze({
    waitingQueueSize: [],
    runningRequestsSize: [],
    kvCacheUsagePercent: [],
    loraRequestsInfo: [],
    cacheConfigInfo: [],
    cacheBlockSizeLabel: 'block_size',
    cacheNumBlocksLabel: 'num_gpu_blocks',
    cacheBlockSize: [],
    cacheNumBlocks: [],
    ...fields,
  });
}

/**
 * Built-in engine mappings, keyed by the value of the engine label. vLLM reads both KV-usage names
 * (`kv_cache_usage_perc` since vLLM 0.10, `gpu_cache_usage_perc` before).
 */
export const ENGINE_MAPPINGS: Readonly<Record<string, EngineMapping>> = Object.freeze({
  vllm: mapping({
    waitingQueueSize: specs('vllm:num_requests_waiting'),
    runningRequestsSize: specs('vllm:num_requests_running'),
    kvCacheUsagePercent: specs('vllm:kv_cache_usage_perc', 'vllm:gpu_cache_usage_perc'),
    loraRequestsInfo: specs('vllm:lora_requests_info'),
    cacheConfigInfo: specs('vllm:cache_config_info'),
  }),
  sglang: mapping({
    waitingQueueSize: specs('sglang:num_queue_reqs'),
    runningRequestsSize: specs('sglang:num_running_reqs'),
    kvCacheUsagePercent: specs('sglang:token_usage'),
    cacheBlockSize: specs('sglang:page_size'),
    cacheNumBlocks: specs('sglang:num_pages'),
  }),
  'trtllm-serve': mapping({
    waitingQueueSize: specs('trtllm_num_requests_waiting'),
    runningRequestsSize: specs('trtllm_num_requests_running'),
    kvCacheUsagePercent: specs('trtllm_kv_cache_utilization'),
    cacheBlockSize: specs('trtllm_kv_cache_tokens_per_block'),
    cacheNumBlocks: specs('trtllm_kv_cache_max_blocks'),
  }),
  'triton-tensorrt-llm': mapping({
    waitingQueueSize: specs('nv_trt_llm_request_metrics{request_type=waiting}'),
    runningRequestsSize: specs('nv_trt_llm_request_metrics{request_type=scheduled}'),
    kvCacheUsagePercent: specs('nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type=fraction}'),
    cacheBlockSize: specs('nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type=tokens_per}'),
    cacheNumBlocks: specs('nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type=max}'),
  }),
});

/** Chooses an endpoint's mapping from its labels; unknown or missing engine names fall back to the default engine. */
export function engineMappingFor(
  labels: Readonly<Record<string, string>>,
  engines: Readonly<Record<string, EngineMapping>> = ENGINE_MAPPINGS,
  labelKey: string = ENGINE_TYPE_LABEL,
  defaultEngine: string = DEFAULT_ENGINE,
): EngineMapping {
  const engine = labels[labelKey];
  const chosen = engine ? engines[engine] : undefined;
  if (chosen) return chosen;
  const fallback = engines[defaultEngine];
  if (!fallback) throw new Error(`defaultEngine ${JSON.stringify(defaultEngine)}: no such engine mapping`);
  return fallback;
}

const namesCache = new WeakMap<EngineMapping, ReadonlySet<string>>();

/** Every metric name a mapping reads: the filter to hand to `parsePrometheusText`. */
export function mappingMetricNames(m: EngineMapping): ReadonlySet<string> {
  let names = namesCache.get(m);
  if (!names) {
    const all = [
      ...m.waitingQueueSize,
      ...m.runningRequestsSize,
      ...m.kvCacheUsagePercent,
      ...m.loraRequestsInfo,
      ...m.cacheConfigInfo,
      ...m.cacheBlockSize,
      ...m.cacheNumBlocks,
    ];
    names = new Set(all.map((s) => s.name));
    namesCache.set(m, names);
  }
  return names;
}

function labelsMatch(sample: Sample, spec: MetricSpec): boolean {
  for (const key in spec.labels) {
    if (sample.labels[key] !== spec.labels[key]) return false;
  }
  return true;
}

/**
 * The series matching `spec` with the latest timestamp (series without one count as 0); the
 * first of equals wins, as upstream.
 */
export function latestSample(samples: ReadonlyMap<string, readonly Sample[]>, spec: MetricSpec): Sample | undefined {
  const list = samples.get(spec.name);
  if (!list) return undefined;
  let best: Sample | undefined;
  let bestTs = -Infinity;
  for (const s of list) {
    if (!labelsMatch(s, spec)) continue;
    const ts = s.timestampMs ?? 0;
    if (ts > bestTs) {
      best = s;
      bestTs = ts;
    }
  }
  return best;
}

function firstLatest(samples: ReadonlyMap<string, readonly Sample[]>, alternatives: readonly MetricSpec[]): Sample | undefined {
  for (const spec of alternatives) {
    const s = latestSample(samples, spec);
    if (s) return s;
  }
  return undefined;
}

function hasAdapters(s: Sample): boolean {
  return (s.labels[LORA_RUNNING_LABEL] ?? '') !== '' || (s.labels[LORA_WAITING_LABEL] ?? '') !== '';
}

/**
 * The `lora_requests_info` series to read: the one with the largest value (vLLM writes its update
 * time there) among series naming at least one adapter, else the largest of all.
 */
export function latestLoraSample(samples: ReadonlyMap<string, readonly Sample[]>, alternatives: readonly MetricSpec[]): Sample | undefined {
  for (const spec of alternatives) {
    const list = samples.get(spec.name);
    if (!list) continue;
    let withAdapters: Sample | undefined;
    let any: Sample | undefined;
    for (const s of list) {
      if (!labelsMatch(s, spec)) continue;
      if (any === undefined || s.value > any.value) any = s;
      if (hasAdapters(s) && (withAdapters === undefined || s.value > withAdapters.value)) withAdapters = s;
    }
    const chosen = withAdapters ?? any;
    if (chosen) return chosen;
  }
  return undefined;
}

function adapterSet(csv: string | undefined): Set<string> {
  const out = new Set<string>();
  if (!csv) return out;
  for (const part of csv.split(',')) {
    const name = part.trim();
    if (name !== '') out.add(name);
  }
  return out;
}

function intLabel(value: string | undefined): number | undefined {
  if (value === undefined || !/^\s*\d+\s*$/.test(value)) return undefined;
  return Number(value);
}

interface Tally {
  updated: boolean;
  readonly missing: string[];
  readonly invalid: string[];
}

/** Reads a non-negative count (truncated) into the tally, or returns `prev`. */
function readCount(t: Tally, samples: ReadonlyMap<string, readonly Sample[]>, field: string, alternatives: readonly MetricSpec[], prev: number): number {
  if (alternatives.length === 0) return prev;
  const s = firstLatest(samples, alternatives);
  if (!s) {
    t.missing.push(field);
    return prev;
  }
  if (!Number.isFinite(s.value) || s.value < 0) {
    t.invalid.push(`${field}: ${s.value}`);
    return prev;
  }
  t.updated = true;
  return Math.trunc(s.value);
}

/** What {@link extractEndpointMetrics} found. */
export interface MetricsExtraction {
  /** The new metrics: previous values for whatever was missing or invalid. */
  readonly metrics: EndpointMetrics;
  /** True when at least one field was read (then `updateTime` is the scrape time). */
  readonly updated: boolean;
  /** Names of fields with no matching series (LoRA excluded: vLLM only emits it once an adapter is loaded). */
  readonly missing: readonly string[];
  /** Fields whose series held an unusable value, e.g. `waitingQueueSize: NaN`. */
  readonly invalid: readonly string[];
}

/**
 * Maps parsed samples to {@link EndpointMetrics} with an engine's mapping. Partial results apply:
 * fields without a usable series keep their `previous` value; `updateTime` becomes `now` when at
 * least one field was read.
 */
export function extractEndpointMetrics(
  samples: ReadonlyMap<string, readonly Sample[]>,
  m: EngineMapping,
  previous: EndpointMetrics,
  now: number,
): MetricsExtraction {
  const t: Tally = { updated: false, missing: [], invalid: [] };
  const waitingQueueSize = readCount(t, samples, 'waitingQueueSize', m.waitingQueueSize, previous.waitingQueueSize);
  const runningRequestsSize = readCount(t, samples, 'runningRequestsSize', m.runningRequestsSize, previous.runningRequestsSize);

  let kvCacheUsagePercent = previous.kvCacheUsagePercent;
  if (m.kvCacheUsagePercent.length > 0) {
    const s = firstLatest(samples, m.kvCacheUsagePercent);
    if (!s) t.missing.push('kvCacheUsagePercent');
    else if (!Number.isFinite(s.value)) t.invalid.push(`kvCacheUsagePercent: ${s.value}`);
    else {
      kvCacheUsagePercent = s.value;
      t.updated = true;
    }
  }

  let activeModels = previous.activeModels;
  let waitingModels = previous.waitingModels;
  let maxActiveModels = previous.maxActiveModels;
  const lora = latestLoraSample(samples, m.loraRequestsInfo);
  if (lora) {
    activeModels = adapterSet(lora.labels[LORA_RUNNING_LABEL]);
    waitingModels = adapterSet(lora.labels[LORA_WAITING_LABEL]);
    const raw = lora.labels[LORA_MAX_LABEL];
    if (raw !== undefined && raw !== '') {
      const max = intLabel(raw);
      if (max === undefined) t.invalid.push(`maxActiveModels: ${JSON.stringify(raw)}`);
      else maxActiveModels = max;
    }
    t.updated = true;
  }

  let cacheBlockSize = previous.cacheBlockSize;
  let cacheNumBlocks = previous.cacheNumBlocks;
  if (m.cacheConfigInfo.length > 0) {
    const s = firstLatest(samples, m.cacheConfigInfo);
    if (!s) t.missing.push('cacheConfigInfo');
    else {
      t.updated = true;
      const blockSize = intLabel(s.labels[m.cacheBlockSizeLabel]);
      if (blockSize === undefined) t.invalid.push(`cacheBlockSize: ${JSON.stringify(s.labels[m.cacheBlockSizeLabel] ?? null)}`);
      else cacheBlockSize = blockSize;
      const numBlocks = intLabel(s.labels[m.cacheNumBlocksLabel]);
      if (numBlocks === undefined) t.invalid.push(`cacheNumBlocks: ${JSON.stringify(s.labels[m.cacheNumBlocksLabel] ?? null)}`);
      else cacheNumBlocks = numBlocks;
    }
  }
  cacheBlockSize = readCount(t, samples, 'cacheBlockSize', m.cacheBlockSize, cacheBlockSize);
  cacheNumBlocks = readCount(t, samples, 'cacheNumBlocks', m.cacheNumBlocks, cacheNumBlocks);

  const metrics: EndpointMetrics = t.updated
    ? Object.freeze({
        waitingQueueSize,
        runningRequestsSize,
        kvCacheUsagePercent,
        activeModels,
        waitingModels,
        maxActiveModels,
        cacheBlockSize,
        cacheNumBlocks,
        updateTime: now,
      })
    : previous;
  return { metrics, updated: t.updated, missing: t.missing, invalid: t.invalid };
}
