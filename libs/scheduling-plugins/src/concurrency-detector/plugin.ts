import { definePlugin } from '@llmd/scheduling';
import type { Endpoint, Filter, PluginHandle, SaturationDetector } from '@llmd/scheduling';
import { z } from 'zod';
import { INFLIGHT_LOAD_PRODUCER_TYPE, isInFlightLoadSource, type InFlightLoadSource } from '../inflight-load-producer/plugin.js';

/** Upstream type name of the concurrency-based saturation detector. */
export const CONCURRENCY_DETECTOR_TYPE = 'concurrency-detector';

/** Parameters of `concurrency-detector` (upstream names and defaults). */
export const concurrencyDetectorParameters = z
  .object({
    /** What is counted: in-flight requests, in-flight tokens, or the larger share of the two. */
    concurrencyMode: z.enum(['requests', 'tokens', 'hybrid']).default('requests'),
    /** In-flight requests one endpoint takes before it is full. */
    maxConcurrency: z.number().int().min(1).default(100),
    /** In-flight tokens one endpoint takes before it is full. */
    maxTokenConcurrency: z.number().int().min(1).default(1_000_000),
    /** Extra room the filter allows above the limits, as a fraction. */
    headroom: z.number().min(0).default(0),
    /** Which `inflight-load-producer` counts the load (default: the configured one). */
    inFlightLoadProducerName: z.string().min(1).optional(),
  })
  .strict()
  .prefault({});

/** Resolved parameters of the detector. */
export type ConcurrencyDetectorParameters = z.output<typeof concurrencyDetectorParameters>;

/**
 * Saturation from the router's own count of what it has in flight on each endpoint (the
 * `inflight-load-producer`): requests `(ΣReq + pending) / (N·maxConcurrency)`, tokens
 * `ΣTok / (N·maxTokenConcurrency)`, hybrid the mean of each endpoint's larger share (plus the
 * pending requests' share). `pending` are requests flow control has just released that the
 * counters do not show yet. As a filter it keeps endpoints whose load is below
 * `floor(limit·(1 + headroom))`; it does not fail open.
 */
export class ConcurrencyDetector implements SaturationDetector, Filter {
  readonly type = CONCURRENCY_DETECTOR_TYPE;
  readonly name: string;
  readonly params: ConcurrencyDetectorParameters;
  readonly #handle: PluginHandle;
  #source: InFlightLoadSource | undefined;

  constructor(name: string, params: ConcurrencyDetectorParameters, handle: PluginHandle) {
    this.name = name;
    this.params = params;
    this.#handle = handle;
  }

  saturation(endpoints: readonly Endpoint[], pendingDispatches = 0): number {
    const n = endpoints.length;
    if (n === 0) return 1;
    const source = this.#load();
    const { maxConcurrency: maxReq, maxTokenConcurrency: maxTok, concurrencyMode: mode } = this.params;
    let requests = 0;
    let tokens = 0;
    let shares = 0;
    for (const e of endpoints) {
      const load = source.inFlightLoad(e.metadata.id);
      requests += load.requests;
      tokens += load.tokens;
      if (mode === 'hybrid') shares += Math.max(load.requests / maxReq, load.tokens / maxTok);
    }
    switch (mode) {
      case 'requests':
        return (requests + pendingDispatches) / (n * maxReq);
      case 'tokens':
        return tokens / (n * maxTok);
      case 'hybrid':
        return shares / n + pendingDispatches / (n * maxReq);
    }
  }

  filter(_ctx: unknown, _req: unknown, endpoints: readonly Endpoint[]): readonly Endpoint[] {
    const source = this.#load();
    const { maxConcurrency, maxTokenConcurrency, concurrencyMode: mode, headroom } = this.params;
    const reqLimit = Math.floor(maxConcurrency * (1 + headroom));
    const tokLimit = Math.floor(maxTokenConcurrency * (1 + headroom));
    return endpoints.filter((e) => {
      const load = source.inFlightLoad(e.metadata.id);
      const reqOk = load.requests < reqLimit;
      const tokOk = load.tokens < tokLimit;
      return mode === 'requests' ? reqOk : mode === 'tokens' ? tokOk : reqOk && tokOk;
    });
  }

  /** The in-flight counters, found on first use (other plugins exist only once loading ends). */
  #load(): InFlightLoadSource {
    if (this.#source === undefined) {
      const name = this.params.inFlightLoadProducerName;
      const p = name ? this.#handle.plugin(name) : this.#handle.pluginsOfType(INFLIGHT_LOAD_PRODUCER_TYPE)[0];
      if (!isInFlightLoadSource(p)) {
        throw new Error(`${CONCURRENCY_DETECTOR_TYPE} "${this.name}": no in-flight load producer${name ? ` named "${name}"` : ''} is configured`);
      }
      this.#source = p;
    }
    return this.#source;
  }
}

/** Declares `concurrency-detector`; it brings an `inflight-load-producer` when none is configured. */
export const concurrencyDetector = definePlugin({
  type: CONCURRENCY_DETECTOR_TYPE,
  parameters: concurrencyDetectorParameters,
  requires: [INFLIGHT_LOAD_PRODUCER_TYPE],
  create: (name, params, handle) => new ConcurrencyDetector(name, params, handle),
});
