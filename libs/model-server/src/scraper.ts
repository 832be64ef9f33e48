import http from 'node:http';
import https from 'node:https';
import { isIPv6 } from 'node:net';
import { performance } from 'node:perf_hooks';
import { EMPTY_METRICS, type EndpointMetadata, type EndpointMetrics } from '@llmd/scheduling';
import { ENGINE_MAPPINGS, DEFAULT_ENGINE, ENGINE_TYPE_LABEL, engineMappingFor, extractEndpointMetrics, mappingMetricNames, type EngineMapping } from './engines.js';
import { parsePrometheusText } from './prometheus-text.js';

/** Default scrape interval (upstream `--refresh-metrics-interval`). */
export const DEFAULT_REFRESH_METRICS_INTERVAL_MS = 50;

/** Default per-scrape timeout. */
export const DEFAULT_SCRAPE_TIMEOUT_MS = 5_000;

/** Age beyond which the saturation detector treats an endpoint's metrics as stale. */
export const DEFAULT_METRICS_STALENESS_MS = 200;

/** What the scraper needs of an endpoint (an `EndpointMetadata` fits). */
export type ScrapeTarget = Pick<EndpointMetadata, 'id' | 'address' | 'port' | 'labels'>;

/** The logger methods the scraper calls; a pino `Logger` fits. */
export interface ScrapeLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

/** Receives an endpoint's freshly scraped metrics. */
export type MetricsListener = (id: string, metrics: EndpointMetrics) => void;

/** Receives a failed scrape (after it was counted). */
export type ScrapeFailureListener = (id: string, error: Error, stats: ScrapeStats) => void;

/** Counters of one endpoint's scrape loop. */
export interface ScrapeStats {
  /** Successful scrapes. */
  readonly scrapes: number;
  /** Failed scrapes (connection errors, timeouts, non-200 answers, no mapped metric in the page). */
  readonly failures: number;
  /** Failures since the last success. */
  readonly consecutiveFailures: number;
  /** Message of the latest failure, if any. */
  readonly lastError: string | undefined;
}

/** Options of a {@link MetricsScraper}. */
export interface MetricsScraperOptions {
  /** Time between the starts of two scrapes of one endpoint, ms (a slow scrape delays only its own next one). */
  readonly intervalMs?: number;
  /** Per-scrape timeout, ms. */
  readonly timeoutMs?: number;
  /** `http` (default) or `https`. */
  readonly scheme?: 'http' | 'https';
  /** Metrics path, default `/metrics`. */
  readonly path?: string;
  /** With https: accept any server certificate (model servers usually have self-signed ones). */
  readonly insecureSkipVerify?: boolean;
  /** Engine mappings by engine name; defaults to the built-ins. */
  readonly engines?: Readonly<Record<string, EngineMapping>>;
  /** Label naming the engine, default `llm-d.ai/engine-type`. */
  readonly engineLabelKey?: string;
  /** Engine for endpoints without (or with an unknown) engine label, default `vllm`. */
  readonly defaultEngine?: string;
  /** Where failures are reported (rate-limited per endpoint). */
  readonly logger?: ScrapeLogger;
  /** At most one failure log line per endpoint per this many ms (default 30 s). */
  readonly failureLogIntervalMs?: number;
  /** Responses larger than this fail the scrape (default 16 MiB). */
  readonly maxResponseBytes?: number;
  /** Called with each endpoint's new metrics. */
  readonly onMetrics?: MetricsListener;
  /** Called after each failed scrape. */
  readonly onFailure?: ScrapeFailureListener;
  /** Clock for `updateTime` and pacing, ms; defaults to `performance.now()`. */
  readonly clock?: () => number;
}

interface ScrapeLoop {
  target: ScrapeTarget;
  mapping: EngineMapping;
  names: ReadonlySet<string>;
  readonly url: URL;
  readonly hostPort: string;
  previous: EndpointMetrics;
  timer: NodeJS.Timeout | undefined;
  request: http.ClientRequest | undefined;
  stopped: boolean;
  scrapes: number;
  failures: number;
  consecutiveFailures: number;
  lastError: string | undefined;
  lastFailureLogAt: number;
  failuresSinceLog: number;
  failureLogged: boolean;
  lastMissing: string;
}

/** `host:port` with IPv6 addresses bracketed, as in URLs and `x-gateway-destination-endpoint`. */
export function formatHostPort(address: string, port: number): string {
  return isIPv6(address) ? `[${address}]:${port}` : `${address}:${port}`;
}

/**
 * True when metrics were never scraped or are older than `thresholdMs` at `now` (same clock as
 * `updateTime`, `performance.now()` by default).
 */
export function isStale(metrics: EndpointMetrics, thresholdMs: number, now: number = performance.now()): boolean {
  return metrics.updateTime === 0 || now - metrics.updateTime > thresholdMs;
}

/**
 * Scrapes each endpoint's model-server metrics on its own loop: `GET <scheme>://<address>:<port><path>`
 * every interval, over keep-alive connections, never two scrapes of one endpoint at once. Each page
 * is mapped with the endpoint's engine mapping (label `llm-d.ai/engine-type`) and handed to the
 * listeners. Failures are counted, reported to `onFailure` and logged at most once per interval per
 * endpoint; they never throw and never delay other endpoints.
 */
export class MetricsScraper {
  readonly #loops = new Map<string, ScrapeLoop>();
  readonly #metricsListeners = new Set<MetricsListener>();
  readonly #intervalMs: number;
  readonly #timeoutMs: number;
  readonly #scheme: 'http' | 'https';
  readonly #path: string;
  readonly #engines: Readonly<Record<string, EngineMapping>>;
  readonly #engineLabelKey: string;
  readonly #defaultEngine: string;
  readonly #logger: ScrapeLogger | undefined;
  readonly #failureLogIntervalMs: number;
  readonly #maxResponseBytes: number;
  readonly #onFailure: ScrapeFailureListener | undefined;
  readonly #clock: () => number;
  readonly #agent: http.Agent;
  #closed = false;

  constructor(options: MetricsScraperOptions = {}) {
    this.#intervalMs = positive('intervalMs', options.intervalMs ?? DEFAULT_REFRESH_METRICS_INTERVAL_MS);
    this.#timeoutMs = positive('timeoutMs', options.timeoutMs ?? DEFAULT_SCRAPE_TIMEOUT_MS);
    this.#scheme = options.scheme ?? 'http';
    if (this.#scheme !== 'http' && this.#scheme !== 'https') throw new Error(`scheme: expected http or https, got ${JSON.stringify(this.#scheme)}`);
    this.#path = options.path ?? '/metrics';
    if (!this.#path.startsWith('/')) throw new Error(`path: must start with "/", got ${JSON.stringify(this.#path)}`);
    this.#engines = options.engines ?? ENGINE_MAPPINGS;
    this.#engineLabelKey = options.engineLabelKey ?? ENGINE_TYPE_LABEL;
    this.#defaultEngine = options.defaultEngine ?? DEFAULT_ENGINE;
    if (!this.#engines[this.#defaultEngine]) throw new Error(`defaultEngine: no engine mapping named ${JSON.stringify(this.#defaultEngine)}`);
    this.#logger = options.logger;
    this.#failureLogIntervalMs = options.failureLogIntervalMs ?? 30_000;
    this.#maxResponseBytes = positive('maxResponseBytes', options.maxResponseBytes ?? 16 * 1024 * 1024);
    this.#onFailure = options.onFailure;
    this.#clock = options.clock ?? (() => performance.now());
    if (options.onMetrics) this.#metricsListeners.add(options.onMetrics);
    this.#agent =
      this.#scheme === 'https'
        ? new https.Agent({ keepAlive: true, rejectUnauthorized: !(options.insecureSkipVerify ?? false) })
        : new http.Agent({ keepAlive: true });
  }

  /** Number of endpoints being scraped. */
  get size(): number {
    return this.#loops.size;
  }

  /** Adds a metrics listener; returns the function that removes it. */
  subscribe(listener: MetricsListener): () => void {
    this.#metricsListeners.add(listener);
    return () => this.#metricsListeners.delete(listener);
  }

  /**
   * Starts scraping an endpoint (first scrape right away), starting from `previous` metrics. For an
   * id already scraped at the same address and port, only the labels (engine) are refreshed; at a new
   * address the loop restarts.
   */
  start(target: ScrapeTarget, previous: EndpointMetrics = EMPTY_METRICS): void {
    if (this.#closed) throw new Error('MetricsScraper is closed');
    const hostPort = formatHostPort(target.address, target.port);
    const mapping = engineMappingFor(target.labels, this.#engines, this.#engineLabelKey, this.#defaultEngine);
    const existing = this.#loops.get(target.id);
    if (existing && existing.hostPort === hostPort) {
      existing.target = target;
      existing.mapping = mapping;
      existing.names = mappingMetricNames(mapping);
      return;
    }
    if (existing) this.stop(target.id);
    const loop: ScrapeLoop = {
      target,
      mapping,
      names: mappingMetricNames(mapping),
      url: new URL(`${this.#scheme}://${hostPort}${this.#path}`),
      hostPort,
      previous,
      timer: undefined,
      request: undefined,
      stopped: false,
      scrapes: 0,
      failures: 0,
      consecutiveFailures: 0,
      lastError: undefined,
      lastFailureLogAt: -Infinity,
      failuresSinceLog: 0,
      failureLogged: false,
      lastMissing: '',
    };
    this.#loops.set(target.id, loop);
    this.#schedule(loop, 0);
  }

  /** Stops scraping an endpoint; an in-flight scrape is aborted and its result dropped. */
  stop(id: string): void {
    const loop = this.#loops.get(id);
    if (!loop) return;
    this.#loops.delete(id);
    loop.stopped = true;
    if (loop.timer) clearTimeout(loop.timer);
    loop.timer = undefined;
    loop.request?.destroy();
  }

  /** True while `id` is being scraped. */
  has(id: string): boolean {
    return this.#loops.has(id);
  }

  /** Counters of an endpoint's loop, or undefined when it is not scraped. */
  stats(id: string): ScrapeStats | undefined {
    const loop = this.#loops.get(id);
    if (!loop) return undefined;
    return { scrapes: loop.scrapes, failures: loop.failures, consecutiveFailures: loop.consecutiveFailures, lastError: loop.lastError };
  }

  /** Stops every loop and closes the pooled connections. */
  close(): void {
    this.#closed = true;
    for (const id of [...this.#loops.keys()]) this.stop(id);
    this.#agent.destroy();
  }

  /** Same as {@link close}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  #schedule(loop: ScrapeLoop, delayMs: number): void {
    loop.timer = setTimeout(() => void this.#scrape(loop), delayMs);
    // Scraping alone must not keep a process alive.
    loop.timer.unref();
  }

  async #scrape(loop: ScrapeLoop): Promise<void> {
    loop.timer = undefined;
    const started = this.#clock();
    let metrics: EndpointMetrics | undefined;
    let failure: Error | undefined;
    try {
      const text = await this.#fetch(loop);
      if (loop.stopped) return;
      const result = extractEndpointMetrics(parsePrometheusText(text, loop.names), loop.mapping, loop.previous, this.#clock());
      if (!result.updated) {
        failure = new Error(`no mapped metric in the response (looked for ${[...loop.names].join(', ')})`);
      } else {
        metrics = result.metrics;
        this.#noteGaps(loop, result.missing, result.invalid);
      }
    } catch (err) {
      if (loop.stopped) return;
      failure = err instanceof Error ? err : new Error(String(err));
    }
    if (metrics) this.#succeeded(loop, metrics);
    else if (failure) this.#failed(loop, failure);
    if (!loop.stopped) this.#schedule(loop, Math.max(0, this.#intervalMs - (this.#clock() - started)));
  }

  #fetch(loop: ScrapeLoop): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      let settled = false;
      // Held in an object: the timer is created after the request, which `settle` may outlive.
      const deadline: { timer?: NodeJS.Timeout } = {};
      const settle = (err: Error | undefined, body?: string): void => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline.timer);
        loop.request = undefined;
        if (err) reject(err);
        else resolve(body ?? '');
      };
      const href = loop.url.href;
      const mod = this.#scheme === 'https' ? https : http;
      let responded = false;
      const req = mod.request(loop.url, { agent: this.#agent, headers: { accept: 'text/plain;version=0.0.4' } }, (res) => {
        responded = true;
        if (res.statusCode !== 200) {
          res.resume();
          settle(new Error(`GET ${href} answered ${res.statusCode}`));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > this.#maxResponseBytes) {
            settle(new Error(`GET ${href}: response larger than ${this.#maxResponseBytes} bytes`));
            req.destroy();
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => settle(undefined, Buffer.concat(chunks, size).toString('utf8')));
        res.on('error', (err) => settle(err));
        res.on('close', () => settle(new Error(`GET ${href}: connection closed before the response ended`)));
      });
      deadline.timer = setTimeout(() => {
        settle(new Error(`GET ${href} timed out after ${this.#timeoutMs} ms`));
        req.destroy();
      }, this.#timeoutMs);
      deadline.timer.unref();
      req.on('error', (err) => settle(err));
      req.on('close', () => {
        if (!responded) settle(new Error(`GET ${href}: connection closed before a response`));
      });
      loop.request = req;
      req.end();
    });
  }

  #succeeded(loop: ScrapeLoop, metrics: EndpointMetrics): void {
    if (loop.failureLogged) {
      this.#logger?.info({ endpoint: loop.target.id, url: loop.url.href, failures: loop.consecutiveFailures }, 'metrics scrape recovered');
    }
    loop.scrapes++;
    loop.consecutiveFailures = 0;
    loop.failureLogged = false;
    loop.previous = metrics;
    for (const listener of this.#metricsListeners) {
      try {
        listener(loop.target.id, metrics);
      } catch (err) {
        this.#logger?.warn({ endpoint: loop.target.id, err }, 'metrics listener threw');
      }
    }
  }

  #failed(loop: ScrapeLoop, error: Error): void {
    loop.failures++;
    loop.consecutiveFailures++;
    loop.failuresSinceLog++;
    loop.lastError = error.message;
    const now = this.#clock();
    if (this.#logger && now - loop.lastFailureLogAt >= this.#failureLogIntervalMs) {
      this.#logger.warn(
        { endpoint: loop.target.id, url: loop.url.href, err: error.message, consecutiveFailures: loop.consecutiveFailures, failuresSinceLastLog: loop.failuresSinceLog },
        'metrics scrape failed',
      );
      loop.lastFailureLogAt = now;
      loop.failuresSinceLog = 0;
      loop.failureLogged = true;
    }
    if (this.#onFailure) {
      try {
        this.#onFailure(loop.target.id, error, { scrapes: loop.scrapes, failures: loop.failures, consecutiveFailures: loop.consecutiveFailures, lastError: loop.lastError });
      } catch (err) {
        this.#logger?.warn({ endpoint: loop.target.id, err }, 'scrape failure listener threw');
      }
    }
  }

  /** Logs (debug) which fields a page lacked, once per change, so a steady gap costs nothing. */
  #noteGaps(loop: ScrapeLoop, missing: readonly string[], invalid: readonly string[]): void {
    const key = missing.length === 0 && invalid.length === 0 ? '' : `${missing.join(',')}|${invalid.join(',')}`;
    if (key === loop.lastMissing) return;
    loop.lastMissing = key;
    if (key !== '') this.#logger?.debug({ endpoint: loop.target.id, missing, invalid }, 'metrics page lacks some mapped metrics');
  }
}

function positive(key: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${key}: expected a positive number, got ${value}`);
  return value;
}
