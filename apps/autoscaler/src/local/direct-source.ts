// The local mode's metrics source: scrapes each simulated server directly and answers the same
// questions the Prometheus collector asks (peaks over a window, counter rates, freshness), so the
// local stack needs no Prometheus.
import { parsePrometheusText, VLLM_METRICS as M, type SamplesByName } from '@llmd/model-server';
import { parseDurationMs } from '@llmd/cli';
import type { GroupMetrics, MetricsSource, VariantMetricsStatus } from '../collector/collector.js';
import { variantForPod } from '../collector/collector.js';
import type { ReplicaMetrics, Variant } from '../model.js';
import type { FlowQueueReader } from '../actuation/scale-from-zero.js';
import type { QueryWindows } from '../prometheus/queries.js';

/** One scrape of one server, reduced to the numbers the analyzers use. */
interface Point {
  t: number;
  kv: number;
  waiting: number;
  running: number;
  success: number;
  promptSum: number;
  promptCount: number;
  genSum: number;
  genCount: number;
  itlSum: number;
  itlCount: number;
  prefillSum: number;
  prefillCount: number;
  ttftSum: number;
  ttftCount: number;
  hits: number;
  queries: number;
}

interface PodHistory {
  model: string;
  points: Point[];
  numGpuBlocks?: number;
  blockSize?: number;
}

/** A server to scrape. */
export interface ScrapeTarget {
  readonly pod: string;
  readonly url: string;
}

const sum = (m: SamplesByName, name: string) => (m.get(name) ?? []).reduce((a, s) => a + s.value, 0);

/** Turns one exposition into a point, or null when it has no vLLM gauges. */
export function pointFrom(text: string, t: number): { model: string; point: Point; numGpuBlocks?: number; blockSize?: number } | null {
  const m = parsePrometheusText(text);
  const kv = m.get(M.kvCacheUsagePerc)?.[0];
  const waiting = m.get(M.numRequestsWaiting)?.[0];
  if (!kv || !waiting) return null;
  const cache = m.get(M.cacheConfigInfo)?.[0];
  return {
    model: kv.labels.model_name ?? '',
    numGpuBlocks: cache ? Number(cache.labels.num_gpu_blocks) : undefined,
    blockSize: cache ? Number(cache.labels.block_size) : undefined,
    point: {
      t,
      kv: kv.value,
      waiting: waiting.value,
      running: sum(m, M.numRequestsRunning),
      success: sum(m, M.requestSuccessTotal),
      promptSum: sum(m, `${M.requestPromptTokens}_sum`),
      promptCount: sum(m, `${M.requestPromptTokens}_count`),
      genSum: sum(m, `${M.requestGenerationTokens}_sum`),
      genCount: sum(m, `${M.requestGenerationTokens}_count`),
      itlSum: sum(m, `${M.interTokenLatencySeconds}_sum`),
      itlCount: sum(m, `${M.interTokenLatencySeconds}_count`),
      prefillSum: sum(m, `${M.requestPrefillTimeSeconds}_sum`),
      prefillCount: sum(m, `${M.requestPrefillTimeSeconds}_count`),
      ttftSum: sum(m, `${M.timeToFirstTokenSeconds}_sum`),
      ttftCount: sum(m, `${M.timeToFirstTokenSeconds}_count`),
      hits: sum(m, M.prefixCacheHitsTotal),
      queries: sum(m, M.prefixCacheQueriesTotal),
    },
  };
}

/** Options of a {@link DirectScrapeSource}. */
export interface DirectScrapeOptions {
  /** The servers to scrape now (called before each round). */
  readonly targets: () => readonly ScrapeTarget[];
  readonly windows: QueryWindows;
  readonly stalenessMs: number;
  readonly scrapeIntervalMs: number;
  /** How long history is kept (covers the longest window and the retention period), ms. */
  readonly historyMs?: number;
  /** The routers' flow-control queue, when there is a router. */
  readonly flowQueue?: FlowQueueReader | undefined;
  readonly now?: () => number;
}

/** {@link MetricsSource} over direct scrapes. */
export class DirectScrapeSource implements MetricsSource {
  readonly #o: DirectScrapeOptions;
  readonly #pods = new Map<string, PodHistory>();
  readonly #now: () => number;
  readonly #windowMs: { saturation: number; rate: number; arrival: number };
  #timer: NodeJS.Timeout | undefined;

  constructor(options: DirectScrapeOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    const w = options.windows;
    this.#windowMs = { saturation: parseDurationMs(w.saturation, 'window'), rate: parseDurationMs(w.rate, 'window'), arrival: parseDurationMs(w.arrival, 'window') };
  }

  /** Scrapes every target once. */
  async scrapeOnce(): Promise<void> {
    const targets = this.#o.targets();
    const live = new Set(targets.map((t) => t.pod));
    await Promise.all(
      targets.map(async (t) => {
        try {
          const res = await fetch(`${t.url}/metrics`, { signal: AbortSignal.timeout(Math.max(500, this.#o.scrapeIntervalMs)) });
          if (!res.ok) return;
          this.record(t.pod, await res.text());
        } catch {
          // A failed scrape leaves a gap: the pod goes stale if it lasts.
        }
      }),
    );
    // Forget servers that are gone once their history is older than every window.
    const horizon = this.#now() - this.#historyMs();
    for (const [pod, h] of this.#pods) if (!live.has(pod) && (h.points.at(-1)?.t ?? 0) < horizon) this.#pods.delete(pod);
  }

  #historyMs(): number {
    return this.#o.historyMs ?? Math.max(this.#windowMs.saturation, this.#windowMs.rate, this.#windowMs.arrival, 15 * 60_000);
  }

  /** Records one exposition of `pod` taken now. */
  record(pod: string, text: string): void {
    const p = pointFrom(text, this.#now());
    if (!p) return;
    const h = this.#pods.get(pod) ?? { model: p.model, points: [] };
    h.model = p.model;
    h.numGpuBlocks = p.numGpuBlocks;
    h.blockSize = p.blockSize;
    h.points.push(p.point);
    const horizon = p.point.t - this.#historyMs();
    while ((h.points[0]?.t ?? Infinity) < horizon) h.points.shift();
    this.#pods.set(pod, h);
  }

  /** Scrapes every `scrapeIntervalMs` until {@link stop}. */
  start(): void {
    this.stop();
    let busy = false;
    this.#timer = setInterval(() => {
      if (busy) return;
      busy = true;
      void this.scrapeOnce().finally(() => (busy = false));
    }, this.#o.scrapeIntervalMs);
    this.#timer.unref();
  }

  /** Stops scraping. */
  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async collect(_namespace: string, modelID: string, variants: readonly Variant[], currentReplicas: ReadonlyMap<string, number>): Promise<GroupMetrics> {
    const now = this.#now();
    const replicas: ReplicaMetrics[] = [];
    const tally = new Map<string, { fresh: number; stale: string[] }>(variants.map((v) => [v.name, { fresh: 0, stale: [] }]));
    const unmatchedPods: string[] = [];
    for (const [pod, h] of this.#pods) {
      if (h.model !== modelID) continue;
      const variant = variantForPod(pod, variants);
      if (!variant) {
        unmatchedPods.push(pod);
        continue;
      }
      const inWindow = (ms: number) => h.points.filter((p) => p.t >= now - ms);
      const sat = inWindow(this.#windowMs.saturation);
      const last = h.points.at(-1);
      const t = tally.get(variant.name) as { fresh: number; stale: string[] };
      if (sat.length === 0) continue;
      if (!last || now - last.t > this.#o.stalenessMs) {
        t.stale.push(pod);
        continue;
      }
      t.fresh++;
      const delta = (pts: Point[], f: (p: Point) => number) => (pts.length >= 2 ? f(pts.at(-1) as Point) - f(pts[0] as Point) : 0);
      const ratio = (pts: Point[], s: (p: Point) => number, c: (p: Point) => number) => {
        const dc = delta(pts, c);
        return dc > 0 ? delta(pts, s) / dc : undefined;
      };
      const rate = inWindow(this.#windowMs.rate);
      const arr = inWindow(this.#windowMs.arrival);
      const span = arr.length >= 2 ? ((arr.at(-1) as Point).t - (arr[0] as Point).t) / 1000 : 0;
      const ms = (v: number | undefined) => (v === undefined ? undefined : v * 1000);
      replicas.push({
        pod,
        variant: variant.name,
        kvUsage: Math.max(...sat.map((p) => p.kv)),
        queueLength: Math.max(...sat.map((p) => p.waiting)),
        numGpuBlocks: h.numGpuBlocks,
        blockSize: h.blockSize,
        avgInputTokens: ratio(rate, (p) => p.promptSum, (p) => p.promptCount),
        avgOutputTokens: ratio(rate, (p) => p.genSum, (p) => p.genCount),
        prefixHitRate: ratio(rate, (p) => p.hits, (p) => p.queries),
        arrivalRate: span > 0 ? delta(arr, (p) => p.success) / span : undefined,
        queueGrowth: span > 0 ? delta(arr, (p) => p.waiting) / span : undefined,
        avgRunning: arr.length > 0 ? arr.reduce((a, p) => a + p.running, 0) / arr.length : undefined,
        avgItlMs: ms(ratio(arr, (p) => p.itlSum, (p) => p.itlCount)),
        avgPrefillMs: ms(ratio(arr, (p) => p.prefillSum, (p) => p.prefillCount)),
        avgTtftMs: ms(ratio(arr, (p) => p.ttftSum, (p) => p.ttftCount)),
      });
    }
    const status = new Map<string, VariantMetricsStatus>();
    for (const v of variants) {
      const t = tally.get(v.name) as { fresh: number; stale: string[] };
      const current = currentReplicas.get(v.name) ?? 0;
      if (t.fresh > 0) status.set(v.name, { ok: true, readyReplicas: t.fresh, message: `${t.fresh} of ${current} replicas report fresh metrics` });
      else if (current === 0 && t.stale.length === 0) status.set(v.name, { ok: true, readyReplicas: 0, message: 'no replicas, so no metrics expected' });
      else if (t.stale.length > 0) status.set(v.name, { ok: false, reason: 'MetricsStale', readyReplicas: 0, message: `no fresh scrape of ${t.stale.join(', ')}` });
      else status.set(v.name, { ok: false, reason: 'MetricsMissing', readyReplicas: 0, message: `no scraped metrics for pods of ${v.target.name} serving ${modelID}` });
    }
    replicas.sort((a, b) => a.pod.localeCompare(b.pod));
    const flowControlQueue = await this.flowControlQueue(modelID);
    return { replicas, status, flowControlQueue, unmatchedPods, evaluatedAtMs: now };
  }

  async requestCount(_namespace: string, modelID: string, retentionMs: number): Promise<number | undefined> {
    const now = this.#now();
    let seen = false;
    let total = 0;
    for (const h of this.#pods.values()) {
      if (h.model !== modelID) continue;
      const pts = h.points.filter((p) => p.t >= now - retentionMs);
      if (pts.length === 0) continue;
      seen = true;
      // The last point before the window is where the counter stood when it opened; a server that
      // started within the window counted from 0.
      const before = h.points.filter((p) => p.t < now - retentionMs).at(-1);
      total += (pts.at(-1) as Point).success - (before?.success ?? 0);
    }
    return seen ? total : undefined;
  }

  async flowControlQueue(modelID: string): Promise<number | undefined> {
    return this.#o.flowQueue ? this.#o.flowQueue.queued(modelID).catch(() => undefined) : undefined;
  }
}
