import { definePlugin } from '@llmd/scheduling';
import type {
  DataProducer,
  Endpoint,
  HeaderMutations,
  InferenceRequest,
  PluginHandle,
  PreRequestHook,
  ResponseHooks,
  SchedulingContext,
  SchedulingResult,
} from '@llmd/scheduling';
import { z } from 'zod';
import { prefixCacheMatchInfoKey, type PrefixCacheMatchInfo } from '../approx-prefix-cache-producer/attributes.js';
import { estimatePromptTokens } from '../approx-prefix-cache-producer/hashing.js';
import { APPROX_PREFIX_CACHE_PRODUCER_TYPE, ApproxPrefixCacheProducer, PREFILL_PROFILE } from '../approx-prefix-cache-producer/plugin.js';
import { inFlightLoadKey, uncachedRequestTokensKey, type InFlightLoad, type InFlightLoadSource, type UncachedRequestTokens } from './attributes.js';

export { IN_FLIGHT_LOAD, UNCACHED_REQUEST_TOKENS, inFlightLoadKey, isInFlightLoadSource, uncachedRequestTokensKey } from './attributes.js';
export type { InFlightLoad, InFlightLoadSource, UncachedRequestTokens } from './attributes.js';

/** Upstream type name of the in-flight load producer. */
export const INFLIGHT_LOAD_PRODUCER_TYPE = 'inflight-load-producer';

/**
 * A request whose response never completes (never forwarded, or a hook that never fired) is
 * released after this long without news, so its load cannot stay forever. Generous, because a
 * long generation is legitimately in flight for many minutes after its first token.
 */
export const STALE_REQUEST_MS = 30 * 60_000;

const SWEEP_INTERVAL_MS = 60_000;

/** Parameters of `inflight-load-producer` (upstream names and defaults). */
export const inflightLoadParameters = z
  .object({
    /** Also count an estimate of the output tokens, held until the response ends. */
    addEstimatedOutputTokens: z.boolean().default(false),
    /** Estimated output = round(input tokens × outputRatio). */
    outputRatio: z.number().min(0).default(1.5),
    /** Cap of the estimated output per request; unset = no cap. */
    maxEstimatedOutputTokens: z.number().int().min(0).optional(),
    /** Which producer's `PrefixCacheMatchInfo` discounts cached tokens (default: whichever prefix producer ran). */
    prefixMatchInfoProducerName: z.string().min(1).optional(),
    /** Accepted for compatibility; this router keeps in-flight load per replica. */
    syncCrossReplicaState: z.boolean().default(true),
  })
  .strict()
  .prefault({});

/** Resolved parameters of the producer. */
export type InflightLoadParameters = z.output<typeof inflightLoadParameters>;

/** Live counters of one endpoint. */
interface Counter {
  requests: number;
  tokens: number;
}

/** One profile target's share of a request, released in parts. */
interface Contribution {
  readonly counter: Counter;
  readonly profile: string;
  requests: number;
  tokens: number;
}

interface TrackedRequest {
  readonly contributions: Contribution[];
  touched: number;
}

/**
 * Prompt tokens an endpoint must compute for a request: the indexed blocks it has not cached, plus
 * any tail beyond the indexed blocks (prompts longer than the match cap); the whole input when
 * there is no prefix information.
 */
export function uncachedInputTokens(inputTokens: number, info: PrefixCacheMatchInfo | undefined): number {
  if (info === undefined || info.blockSize <= 0) return Math.max(0, inputTokens);
  const indexed = info.totalBlocks * info.blockSize;
  return Math.max(0, indexed - info.matchBlocks * info.blockSize) + Math.max(0, inputTokens - indexed);
}

/**
 * Estimated output tokens: `round(input × ratio)`, bounded by the client's `max_tokens` (when
 * positive) and by `maxEstimated` (when set).
 */
export function estimatedOutputTokens(inputTokens: number, ratio: number, clientMax: number | null, maxEstimated: number | undefined): number {
  let est = Math.round(inputTokens * ratio);
  if (clientMax !== null && clientMax > 0 && clientMax < est) est = clientMax;
  if (maxEstimated !== undefined && maxEstimated < est) est = maxEstimated;
  return est;
}

/**
 * Counts the requests and prompt tokens this router has in flight per endpoint. Produce publishes
 * each candidate's live `InFlightLoad` and the current request's `UncachedRequestTokens`;
 * PreRequest adds the request to each profile's first target; the first response chunk releases
 * the tokens (prefill is done) and the whole `prefill` profile entry; completion releases the rest.
 */
export class InflightLoadProducer implements DataProducer, PreRequestHook, ResponseHooks, InFlightLoadSource {
  readonly type = INFLIGHT_LOAD_PRODUCER_TYPE;
  readonly name: string;
  readonly params: InflightLoadParameters;
  readonly #handle: PluginHandle;
  readonly #counters = new Map<string, Counter>();
  readonly #views = new Map<string, InFlightLoad>();
  readonly #requests = new Map<string, TrackedRequest>();
  readonly #prefixKey: string;
  readonly #loadKeys: readonly string[];
  readonly #uncachedKeys: readonly string[];
  #prefixProducer: ApproxPrefixCacheProducer | null | undefined;
  #lastSweep: number;

  constructor(name: string, params: InflightLoadParameters, handle: PluginHandle) {
    this.name = name;
    this.params = params;
    this.#handle = handle;
    this.#prefixKey = prefixCacheMatchInfoKey(params.prefixMatchInfoProducerName);
    this.#loadKeys = [inFlightLoadKey(), inFlightLoadKey(name)];
    this.#uncachedKeys = [uncachedRequestTokensKey(), uncachedRequestTokensKey(name)];
    this.#lastSweep = handle.now();
  }

  /**
   * Publishes `InFlightLoad` (a live view) and `UncachedRequestTokens` on every candidate. Asks the
   * approximate prefix producer to run first when it has not yet, since the discount needs its
   * match info and the order of producers in a config is the user's.
   */
  produce(ctx: SchedulingContext, req: InferenceRequest, endpoints: readonly Endpoint[]): void {
    this.#prefixSource()?.produce(ctx, req, endpoints);
    const input = this.#inputTokens(ctx, req);
    for (const e of endpoints) {
      const id = e.metadata.id;
      const uncached: UncachedRequestTokens = { tokens: this.requestTokens(ctx, req, id, input) };
      const view = this.#viewOf(id);
      for (const key of this.#uncachedKeys) ctx.attributes.set(id, key, uncached);
      for (const key of this.#loadKeys) ctx.attributes.set(id, key, view);
    }
  }

  /** Adds the request to the first target of every profile that found one. */
  preRequest(ctx: SchedulingContext, req: InferenceRequest, result: SchedulingResult, _headers: HeaderMutations): void {
    this.#sweep();
    const input = this.#inputTokens(ctx, req);
    const contributions: Contribution[] = [];
    for (const [profile, run] of result.profileResults) {
      const target = run?.targets[0];
      if (target === undefined) continue;
      const id = target.metadata.id;
      let counter = this.#counters.get(id);
      if (counter === undefined) this.#counters.set(id, (counter = { requests: 0, tokens: 0 }));
      const tokens = this.requestTokens(ctx, req, id, input);
      counter.requests += 1;
      counter.tokens += tokens;
      contributions.push({ counter, profile, requests: 1, tokens });
    }
    if (contributions.length === 0) return;
    // A request id seen again while in flight (clients may reuse x-request-id) keeps both
    // contributions under the id, so none is lost; the first completion releases both.
    const tracked = this.#requests.get(req.requestId);
    if (tracked) {
      tracked.contributions.push(...contributions);
      tracked.touched = this.#handle.now();
    } else {
      this.#requests.set(req.requestId, { contributions, touched: this.#handle.now() });
    }
  }

  /** Prefill is over: release the tokens (unless output is counted too) and the whole prefill entry. */
  onResponseFirstChunk(req: InferenceRequest): void {
    const tracked = this.#requests.get(req.requestId);
    if (tracked === undefined) return;
    tracked.touched = this.#handle.now();
    for (const c of tracked.contributions) {
      if (c.profile === PREFILL_PROFILE) this.#release(c, true);
      else if (!this.params.addEstimatedOutputTokens) this.#release(c, false);
    }
  }

  /** The response ended (or failed): release whatever the request still holds. */
  onResponseComplete(req: InferenceRequest): void {
    const tracked = this.#requests.get(req.requestId);
    if (tracked === undefined) return;
    this.#requests.delete(req.requestId);
    for (const c of tracked.contributions) this.#release(c, true);
  }

  /** The endpoint's load now. */
  inFlightLoad(endpointId: string): InFlightLoad {
    const c = this.#counters.get(endpointId);
    return { requests: c?.requests ?? 0, tokens: c?.tokens ?? 0 };
  }

  /** Forgets an endpoint's counters; late releases of its requests then change nothing. */
  forgetEndpoint(endpointId: string): void {
    this.#counters.delete(endpointId);
    this.#views.delete(endpointId);
  }

  /** Requests tracked until their response completes. */
  get trackedRequests(): number {
    return this.#requests.size;
  }

  /**
   * What the request costs an endpoint: its uncached prompt tokens (upstream §1.3 formula, with the
   * endpoint's `PrefixCacheMatchInfo` when present), plus the estimated output when enabled (on the
   * full input: cached prompt tokens still produce output).
   */
  requestTokens(ctx: SchedulingContext, req: InferenceRequest, endpointId: string, inputTokens: number): number {
    let tokens = uncachedInputTokens(inputTokens, ctx.attributes.get<PrefixCacheMatchInfo>(endpointId, this.#prefixKey));
    if (this.params.addEstimatedOutputTokens) {
      tokens += estimatedOutputTokens(inputTokens, this.params.outputRatio, req.maxTokens, this.params.maxEstimatedOutputTokens);
    }
    return tokens;
  }

  /** Input tokens as the prefix producer counted them this cycle, else as its estimate backend would. */
  #inputTokens(ctx: SchedulingContext, req: InferenceRequest): number {
    const fromPrefix = this.#prefixSource()?.cycleState(ctx, req);
    if (fromPrefix !== undefined) return fromPrefix.hashes.totalTokens;
    const cached = ctx.cycle.read<{ requestId: string; tokens: number }>(this.name);
    if (cached?.requestId === req.requestId) return cached.tokens;
    const tokens = estimatePromptTokens(req);
    ctx.cycle.write(this.name, { requestId: req.requestId, tokens });
    return tokens;
  }

  /** The approximate prefix producer whose match info this producer reads, resolved on first use. */
  #prefixSource(): ApproxPrefixCacheProducer | null {
    if (this.#prefixProducer === undefined) {
      const name = this.params.prefixMatchInfoProducerName;
      const p = name ? this.#handle.plugin(name) : this.#handle.pluginsOfType(APPROX_PREFIX_CACHE_PRODUCER_TYPE)[0];
      this.#prefixProducer = p instanceof ApproxPrefixCacheProducer ? p : null;
    }
    return this.#prefixProducer;
  }

  /** A view of the endpoint's counters that always reads the current values. */
  #viewOf(endpointId: string): InFlightLoad {
    let view = this.#views.get(endpointId);
    if (view === undefined) {
      const counters = this.#counters;
      view = Object.freeze({
        get requests() {
          return counters.get(endpointId)?.requests ?? 0;
        },
        get tokens() {
          return counters.get(endpointId)?.tokens ?? 0;
        },
      });
      this.#views.set(endpointId, view);
    }
    return view;
  }

  #release(c: Contribution, includingRequest: boolean): void {
    c.counter.tokens = Math.max(0, c.counter.tokens - c.tokens);
    c.tokens = 0;
    if (includingRequest) {
      c.counter.requests = Math.max(0, c.counter.requests - c.requests);
      c.requests = 0;
    }
  }

  /** Once a minute: release requests silent for 30 minutes; drop idle counters and views of endpoints gone from the pool. */
  #sweep(): void {
    const now = this.#handle.now();
    if (now - this.#lastSweep < SWEEP_INTERVAL_MS) return;
    this.#lastSweep = now;
    for (const [id, tracked] of this.#requests) {
      if (now - tracked.touched <= STALE_REQUEST_MS) continue;
      this.#requests.delete(id);
      for (const c of tracked.contributions) this.#release(c, true);
    }
    const pool = new Set(this.#handle.endpoints().map((e) => e.metadata.id));
    for (const [id, c] of this.#counters) {
      if (c.requests === 0 && c.tokens === 0 && !pool.has(id)) this.#counters.delete(id);
    }
    for (const id of this.#views.keys()) if (!pool.has(id) && !this.#counters.has(id)) this.#views.delete(id);
  }
}

/** Declares `inflight-load-producer`. */
export const inflightLoadProducer = definePlugin({
  type: INFLIGHT_LOAD_PRODUCER_TYPE,
  parameters: inflightLoadParameters,
  create: (name, params, handle) => new InflightLoadProducer(name, params, handle),
});
