export { VLLM_METRICS, TTFT_BUCKETS_SECONDS, TPOT_BUCKETS_SECONDS, PHASE_BUCKETS_SECONDS, oneTwoFiveBuckets } from './vllm-metrics.js';
export { parsePrometheusText } from './prometheus-text.js';
export type { Sample, SamplesByName } from './prometheus-text.js';
export {
  DEFAULT_ENGINE,
  ENGINE_MAPPINGS,
  ENGINE_TYPE_LABEL,
  engineMappingFor,
  extractEndpointMetrics,
  latestLoraSample,
  latestSample,
  mappingMetricNames,
  parseMetricSpec,
} from './engines.js';
export type { EngineMapping, MetricSpec, MetricsExtraction } from './engines.js';
export {
  DEFAULT_METRICS_STALENESS_MS,
  DEFAULT_REFRESH_METRICS_INTERVAL_MS,
  DEFAULT_SCRAPE_TIMEOUT_MS,
  MetricsScraper,
  formatHostPort,
  isStale,
} from './scraper.js';
export type { MetricsListener, MetricsScraperOptions, ScrapeFailureListener, ScrapeLogger, ScrapeStats, ScrapeTarget } from './scraper.js';
