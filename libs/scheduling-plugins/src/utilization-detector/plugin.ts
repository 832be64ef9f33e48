import { parseDurationMs } from '@llmd/cli';
import { definePlugin } from '@llmd/scheduling';
import type { Endpoint, Filter, SaturationDetector } from '@llmd/scheduling';
import { z } from 'zod';

/** Upstream type name of the utilization-based saturation detector (the default detector). */
export const UTILIZATION_DETECTOR_TYPE = 'utilization-detector';

/** Parameters of `utilization-detector` (upstream names and defaults). */
export const utilizationDetectorParameters = z
  .object({
    /** Waiting requests at which an endpoint counts as full. */
    queueDepthThreshold: z.number().int().min(1).default(5),
    /** KV-cache use (0..1] at which an endpoint counts as full. */
    kvCacheUtilThreshold: z.number().gt(0).max(1).default(0.8),
    /** Metrics older than this (Go duration or ms) count as a full endpoint. */
    metricsStalenessThreshold: z.union([z.string(), z.number()]).default('200ms'),
    /** Extra room the filter allows above the thresholds, as a fraction (0.2 = 20% more). */
    headroom: z.number().min(0).default(0),
  })
  .strict()
  .prefault({});

/** Resolved parameters of the detector. */
export type UtilizationDetectorParameters = z.output<typeof utilizationDetectorParameters>;

/**
 * Saturation from what the model servers report: per endpoint `max(queue / Q, kv / K)`, a stale
 * or never-scraped endpoint counting as 1; the pool's value is the mean (an empty pool is 1).
 * As a filter it keeps fresh endpoints below the thresholds raised by the headroom, and keeps
 * everyone when none qualifies (fail-open).
 */
export class UtilizationDetector implements SaturationDetector, Filter {
  readonly type = UTILIZATION_DETECTOR_TYPE;
  readonly name: string;
  readonly queueDepthThreshold: number;
  readonly kvCacheUtilThreshold: number;
  readonly stalenessMs: number;
  readonly headroom: number;
  readonly #now: () => number;

  constructor(name: string, params: UtilizationDetectorParameters, now: () => number) {
    this.name = name;
    this.queueDepthThreshold = params.queueDepthThreshold;
    this.kvCacheUtilThreshold = params.kvCacheUtilThreshold;
    this.stalenessMs = parseDurationMs(params.metricsStalenessThreshold, 'metricsStalenessThreshold');
    this.headroom = params.headroom;
    this.#now = now;
  }

  /** Whether the endpoint's metrics are recent enough to trust. */
  fresh(e: Endpoint, now = this.#now()): boolean {
    const t = e.metrics.updateTime;
    return t > 0 && now - t <= this.stalenessMs;
  }

  /** One endpoint's utilization: 1 or more is full. */
  endpointSaturation(e: Endpoint, now = this.#now()): number {
    if (!this.fresh(e, now)) return 1;
    return Math.max(e.metrics.waitingQueueSize / this.queueDepthThreshold, e.metrics.kvCacheUsagePercent / this.kvCacheUtilThreshold);
  }

  /** The pool's saturation; pending dispatches are ignored (their load shows in the next scrape). */
  saturation(endpoints: readonly Endpoint[], _pendingDispatches = 0): number {
    if (endpoints.length === 0) return 1;
    const now = this.#now();
    let sum = 0;
    for (const e of endpoints) sum += this.endpointSaturation(e, now);
    return sum / endpoints.length;
  }

  filter(_ctx: unknown, _req: unknown, endpoints: readonly Endpoint[]): readonly Endpoint[] {
    const now = this.#now();
    const q = this.queueDepthThreshold * (1 + this.headroom);
    const kv = this.kvCacheUtilThreshold * (1 + this.headroom);
    const kept = endpoints.filter((e) => this.fresh(e, now) && e.metrics.waitingQueueSize < q && e.metrics.kvCacheUsagePercent < kv);
    return kept.length > 0 ? kept : endpoints;
  }
}

/** Declares `utilization-detector`. */
export const utilizationDetector = definePlugin({
  type: UTILIZATION_DETECTOR_TYPE,
  parameters: utilizationDetectorParameters,
  create: (name, params, handle) => new UtilizationDetector(name, params, handle.now),
});
