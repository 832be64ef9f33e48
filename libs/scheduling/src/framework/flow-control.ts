// Contracts of the flow-control extension points: saturation detectors (used by admission, by the
// flow controller's dispatch gate, and as filters), and the two policy tiers of a priority band
// (fairness between flows, ordering inside one flow). Implementations live in
// libs/scheduling-plugins (detectors) and libs/flow-control (policies and the controller).
import type { Endpoint } from './endpoint.js';
import type { Plugin } from './plugins.js';

/** Measures how full a set of endpoints is (upstream HEAD `SaturationDetector`). */
export interface SaturationDetector extends Plugin {
  /**
   * Saturation of `endpoints` (a request's candidates): 0 is idle, 1 or more means saturated. An
   * empty set counts as saturated. `pendingDispatches` are requests flow control released a moment
   * ago whose load no endpoint shows yet; detectors that count the router's own in-flight requests
   * add them, detectors that read scraped metrics may ignore them.
   */
  saturation(endpoints: readonly Endpoint[], pendingDispatches?: number): number;
}

/** True for saturation detectors. */
export const isSaturationDetector = (p: Plugin): p is SaturationDetector => typeof (p as SaturationDetector).saturation === 'function';

/** A request waiting in a flow queue, as ordering and fairness policies see it. */
export interface QueuedRequestView {
  readonly requestId: string;
  /** Body size in bytes (what `maxBytes` limits count). */
  readonly byteSize: number;
  /** When it entered the queue (ms, monotonic clock). */
  readonly enqueuedAt: number;
  /** When its time-to-live runs out (ms, same clock); `Infinity` when it has none. */
  readonly deadline: number;
  /** Arrival order across the whole controller: the tie-breaker of every policy. */
  readonly sequence: number;
}

/** Picks the next request inside one flow (upstream `OrderingPolicy`). */
export interface OrderingPolicy extends Plugin {
  /** Negative when `a` should be dispatched before `b`, positive for after; never 0 for distinct requests. */
  compare(a: QueuedRequestView, b: QueuedRequestView): number;
}

/** True for ordering policies. */
export const isOrderingPolicy = (p: Plugin): p is OrderingPolicy =>
  typeof (p as OrderingPolicy).compare === 'function' && typeof (p as Partial<FairnessPolicy>).newBandState !== 'function';

/** One flow's queue: the requests of one fairness id at one priority. */
export interface FlowQueueView {
  readonly fairnessId: string;
  readonly priority: number;
  /** When the flow was created, relative to the other flows of its band (stable for its lifetime). */
  readonly order: number;
  readonly length: number;
  readonly byteSize: number;
  /** The request the band's ordering policy dispatches next; null when the queue is empty. */
  peek(): QueuedRequestView | null;
}

/** Per-band memory of a fairness policy (e.g. whose turn it is). */
export interface FairnessBandState {
  /**
   * The flow to serve next among the band's non-empty flows (given in creation order); null to
   * serve none. Must not change the state: the controller may ask again before it dispatches
   * (e.g. while the pool is saturated).
   */
  pick(flows: readonly FlowQueueView[], ordering: OrderingPolicy): FlowQueueView | null;
  /** A request of `flow` was dispatched: the place to advance a turn. */
  dispatched?(flow: FlowQueueView): void;
}

/** Picks which flow of a priority band is served next (upstream `FairnessPolicy`). */
export interface FairnessPolicy extends Plugin {
  /** State for one band; a policy instance may serve several bands. */
  newBandState(): FairnessBandState;
}

/** True for fairness policies. */
export const isFairnessPolicy = (p: Plugin): p is FairnessPolicy => typeof (p as FairnessPolicy).newBandState === 'function';

/**
 * Admission ceilings per priority (upstream `UsageLimitPolicy`): a band's requests are dispatched
 * only while the pool's saturation is below its ceiling, so lower bands can be held back before
 * the pool is full and the rest kept for higher ones.
 */
export interface UsageLimitPolicy extends Plugin {
  /**
   * One ceiling in [0, 1] per priority, in the order given (highest priority first), non-increasing.
   * `saturation` is the pool's current value, for policies that adapt to it.
   */
  computeLimit(saturation: number, priorities: readonly number[]): number[];
}

/** True for usage-limit policies. */
export const isUsageLimitPolicy = (p: Plugin): p is UsageLimitPolicy => typeof (p as UsageLimitPolicy).computeLimit === 'function';
