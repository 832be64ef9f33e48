import type { Endpoint } from './endpoint.js';
import type { RouterError } from './errors.js';
import type { InferenceRequest } from './request.js';
import type { CycleState, EndpointAttributes } from './state.js';

/** What every plugin hook receives besides the request: the cycle's scratch space and helpers. */
export interface SchedulingContext {
  /** Per-cycle values shared between plugins of this request's scheduling cycle. */
  readonly cycle: CycleState;
  /** Attributes data producers attached to endpoints for this request. */
  readonly attributes: EndpointAttributes;
  /** Random source in [0, 1) (seedable in tests). */
  readonly random: () => number;
  /** Monotonic milliseconds. */
  readonly now: () => number;
}

/** Every plugin has a type (the registered kebab-case name) and a configured instance name. */
export interface Plugin {
  readonly type: string;
  readonly name: string;
}

/** Keeps the endpoints that may serve the request, in order. Must not return endpoints it was not given. */
export interface Filter extends Plugin {
  filter(ctx: SchedulingContext, req: InferenceRequest, endpoints: readonly Endpoint[]): readonly Endpoint[];
}

/** What a scorer optimises for (upstream HEAD categories). */
export type ScorerCategory = 'affinity' | 'distribution' | 'balance';

/** Scores endpoints in [0, 1] (the framework clamps); one score per endpoint, in the order given. */
export interface Scorer extends Plugin {
  readonly category: ScorerCategory;
  score(ctx: SchedulingContext, req: InferenceRequest, endpoints: readonly Endpoint[]): ArrayLike<number>;
}

/** An endpoint with its weighted total score. */
export interface ScoredEndpoint {
  readonly endpoint: Endpoint;
  readonly score: number;
}

/** The outcome of one profile run: chosen endpoints, primary first, then fallbacks. */
export interface ProfileRunResult {
  readonly targets: readonly Endpoint[];
}

/** Chooses the target endpoints from the scored candidates. */
export interface Picker extends Plugin {
  pick(ctx: SchedulingContext, scored: readonly ScoredEndpoint[]): ProfileRunResult;
}

/** A scorer with its configured weight. */
export interface WeightedScorer {
  readonly scorer: Scorer;
  readonly weight: number;
}

/** One scheduling profile: filters, then weighted scorers, then a picker. */
export interface SchedulerProfile {
  readonly name: string;
  readonly filters: readonly Filter[];
  readonly scorers: readonly WeightedScorer[];
  readonly picker: Picker;
}

/** The result of a scheduling cycle. */
export interface SchedulingResult {
  /** Every profile that ran, with its result (null when it found no endpoint). */
  readonly profileResults: ReadonlyMap<string, ProfileRunResult | null>;
  /** The profile whose targets the request is sent to (e.g. `decode` in P/D). */
  readonly primaryProfileName: string;
}

/**
 * Decides which profiles run (possibly over several rounds, e.g. decode then prefill) and turns
 * their results into the scheduling result.
 */
export interface ProfileHandler extends Plugin {
  /** The profiles to run next, given the results so far; empty when done. */
  pickProfiles(
    ctx: SchedulingContext,
    req: InferenceRequest,
    profiles: ReadonlyMap<string, SchedulerProfile>,
    results: ReadonlyMap<string, ProfileRunResult | null>,
  ): readonly SchedulerProfile[];
  /** Builds the result; throws a {@link RouterError} when no usable target was found. */
  processResults(ctx: SchedulingContext, req: InferenceRequest, results: ReadonlyMap<string, ProfileRunResult | null>): SchedulingResult;
}

/** Runs before scheduling and attaches attributes to endpoints (prefix match, in-flight load, …). */
export interface DataProducer extends Plugin {
  produce(ctx: SchedulingContext, req: InferenceRequest, endpoints: readonly Endpoint[]): void | Promise<void>;
}

/** Whether a request may proceed. */
export type AdmissionResult = { readonly admitted: true } | { readonly admitted: false; readonly error: RouterError };

/** Admission control; every admitter must admit a request for it to be scheduled. */
export interface Admitter extends Plugin {
  admit(ctx: SchedulingContext, req: InferenceRequest, endpoints: readonly Endpoint[]): AdmissionResult;
}

/** Changes to the headers sent to the model server. */
export interface HeaderMutations {
  set(name: string, value: string): void;
  remove(name: string): void;
}

/** Runs after scheduling, before the request is forwarded (e.g. set `x-prefiller-host-port`, count in-flight load). */
export interface PreRequestHook extends Plugin {
  preRequest(ctx: SchedulingContext, req: InferenceRequest, result: SchedulingResult, headers: HeaderMutations): void;
}

/** Token counts of a finished response, from its `usage` object. */
export interface ResponseUsage {
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly cachedTokens: number | null;
}

/** What the response hooks know about the response. */
export interface ResponseInfo {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** The endpoint that served the request (null if none could be reached). */
  readonly endpoint: Endpoint | null;
}

/** How a forwarded request ended. */
export interface ResponseOutcome extends ResponseInfo {
  readonly usage: ResponseUsage | null;
  /** True when the response failed or was cut short. */
  readonly failed: boolean;
}

/** Hooks on the response path (upstream PostResponse / ResponseHeader / ResponseBody). All optional. */
export interface ResponseHooks extends Plugin {
  /** Response headers arrived; `setHeader` adds a header to the client's response. */
  onResponseHeaders?(req: InferenceRequest, info: ResponseInfo, setHeader: (name: string, value: string) => void): void;
  /** The first body bytes arrived (the first token of a stream). */
  onResponseFirstChunk?(req: InferenceRequest, info: ResponseInfo): void;
  /** The response ended, successfully or not. Called exactly once per forwarded request. */
  onResponseComplete?(req: InferenceRequest, outcome: ResponseOutcome): void;
}

/** Type guards for plugins implementing several extension points. */
export const isFilter = (p: Plugin): p is Filter => typeof (p as Filter).filter === 'function';
/** True for scorers. */
export const isScorer = (p: Plugin): p is Scorer => typeof (p as Scorer).score === 'function';
/** True for pickers. */
export const isPicker = (p: Plugin): p is Picker => typeof (p as Picker).pick === 'function';
/** True for profile handlers. */
export const isProfileHandler = (p: Plugin): p is ProfileHandler =>
  typeof (p as ProfileHandler).pickProfiles === 'function' && typeof (p as ProfileHandler).processResults === 'function';
/** True for data producers. */
export const isDataProducer = (p: Plugin): p is DataProducer => typeof (p as DataProducer).produce === 'function';
/** True for admitters. */
export const isAdmitter = (p: Plugin): p is Admitter => typeof (p as Admitter).admit === 'function';
/** True for PreRequest hooks. */
export const isPreRequestHook = (p: Plugin): p is PreRequestHook => typeof (p as PreRequestHook).preRequest === 'function';
/** True for plugins with any response hook. */
export const isResponseHooks = (p: Plugin): p is ResponseHooks =>
  typeof (p as ResponseHooks).onResponseHeaders === 'function' ||
  typeof (p as ResponseHooks).onResponseFirstChunk === 'function' ||
  typeof (p as ResponseHooks).onResponseComplete === 'function';
