import type {
  Endpoint,
  FairnessBandState,
  FlowQueueView,
  LoadedBandTemplate,
  LoadedFlowControl,
  OrderingPolicy,
  QueuedRequestView,
  RouterError,
  SaturationDetector,
} from '@llmd/scheduling';
import { IndexedHeap, type HeapSlot } from './heap.js';
import { flowControlError, type OtherCause, type QueueOutcome } from './outcomes.js';

/** A request asking flow control for its turn. */
export interface FlowControlRequest {
  readonly requestId: string;
  /** Fairness id (`x-llm-d-inference-fairness-id`, default `default-flow`). */
  readonly fairnessId: string;
  /** Priority of the request's objective (0 without one). */
  readonly priority: number;
  /** Body size in bytes, counted against `maxBytes`. */
  readonly byteSize: number;
  /** `model` as the client sent it (metric label). */
  readonly modelName: string;
  /** The model after rewrites (metric label). */
  readonly targetModelName: string;
  /**
   * The request's own queue-wait budget (ms, `x-llm-d-inference-ttl`): it can shorten the
   * configured one, never lengthen it. Absent or ≤ 0 = the band's or the global budget.
   */
  readonly ttlMs?: number;
  /** The endpoints the request may go to, now: asked again at every dispatch attempt, as the pool changes. */
  candidates(): readonly Endpoint[];
}

/** The request may proceed: schedule it, then call `release` once its load is visible (or it failed). */
export interface Dispatched {
  readonly outcome: 'Dispatched';
  /** Time spent waiting (ms). */
  readonly waitMs: number;
  /**
   * Ends the hand-over: until then the controller counts the request as a pending dispatch, so the
   * saturation detector sees it before the in-flight counters do. Idempotent.
   */
  release(): void;
}

/** The request was refused or evicted; `error` carries the status and dropped reason to answer with. */
export interface NotDispatched {
  readonly outcome: Exclude<QueueOutcome, 'Dispatched'>;
  readonly waitMs: number;
  readonly error: RouterError;
}

/** What {@link FlowController.enqueueAndWait} resolves to (it never rejects). */
export type FlowControlResult = Dispatched | NotDispatched;

/** The labels of one flow as metrics need them. */
export interface FlowLabels {
  readonly fairnessId: string;
  readonly priority: number;
  readonly modelName: string;
  readonly targetModelName: string;
}

/** Receives the controller's measurements (the router turns them into `llm_d_epp_flow_control_*`). */
export interface FlowControlObserver {
  /** A request entered (+1, +bytes) or left (-1, -bytes) a queue. */
  queueChanged?(labels: FlowLabels, requests: number, bytes: number): void;
  /** A request's final outcome and how long it was in flow control. */
  outcome?(labels: FlowLabels, outcome: QueueOutcome, seconds: number): void;
  /** One dispatch pass over the queues took `seconds`. */
  dispatchCycle?(seconds: number): void;
  /** The saturation the detector reported for the request at the head of the queues. */
  saturation?(value: number): void;
}

/** What the controller runs on. */
export interface FlowControllerDeps {
  /** Decides whether dispatch may proceed: saturation ≥ 1 pauses it. */
  readonly detector: SaturationDetector;
  /** Monotonic milliseconds (default `performance.now`). */
  readonly now?: () => number;
  readonly observer?: FlowControlObserver;
  /**
   * How often dispatch is retried while the pool stays saturated (default 10 ms). Completions and
   * {@link FlowController.notify} retry at once; the poll covers load that only scraped metrics show.
   */
  readonly pollIntervalMs?: number;
}

/** Queue sizes, for tests, health pages and the benchmark. */
export interface FlowControlStats {
  readonly requests: number;
  readonly bytes: number;
  /** Dispatched requests not yet released. */
  readonly pendingDispatches: number;
  readonly bands: readonly { readonly priority: number; readonly requests: number; readonly bytes: number; readonly flows: number }[];
}

interface Item extends QueuedRequestView, HeapSlot {
  readonly req: FlowControlRequest;
  readonly band: Band;
  readonly flow: Flow;
  readonly labels: FlowLabels;
  /** Queue-wait budget while the pool has endpoints (ms); Infinity = none. */
  readonly ttlMs: number;
  timer: ReturnType<typeof setTimeout> | null;
  abort: (() => void) | null;
  signal: AbortSignal | null;
  resolve: (result: FlowControlResult) => void;
}

/** One flow: the queue of one fairness id inside one band. */
class Flow implements FlowQueueView {
  readonly fairnessId: string;
  readonly priority: number;
  readonly order: number;
  readonly heap: IndexedHeap<Item>;
  byteSize = 0;

  constructor(fairnessId: string, priority: number, order: number, ordering: OrderingPolicy) {
    this.fairnessId = fairnessId;
    this.priority = priority;
    this.order = order;
    this.heap = new IndexedHeap<Item>((a, b) => ordering.compare(a, b));
  }

  get length(): number {
    return this.heap.size;
  }

  peek(): QueuedRequestView | null {
    return this.heap.peek();
  }
}

/** One priority band: its flows, limits, policies and fairness state. */
class Band {
  readonly priority: number;
  readonly template: LoadedBandTemplate;
  /** Bands created on demand for unconfigured priorities are dropped once empty. */
  readonly onDemand: boolean;
  readonly state: FairnessBandState;
  readonly flows = new Map<string, Flow>();
  /** Non-empty flows, in creation order (what the fairness policy chooses from). */
  readonly active: Flow[] = [];
  requests = 0;
  bytes = 0;
  #nextOrder = 0;

  constructor(priority: number, template: LoadedBandTemplate, onDemand: boolean) {
    this.priority = priority;
    this.template = template;
    this.onDemand = onDemand;
    this.state = template.fairnessPolicy.newBandState();
  }

  flowFor(fairnessId: string): Flow {
    let flow = this.flows.get(fairnessId);
    if (flow === undefined) {
      flow = new Flow(fairnessId, this.priority, this.#nextOrder++, this.template.orderingPolicy);
      this.flows.set(fairnessId, flow);
      this.active.push(flow);
    }
    return flow;
  }

  /** Forgets a flow that just became empty (a later request of that id starts a new flow, last in turn). */
  dropFlow(flow: Flow): void {
    this.flows.delete(flow.fairnessId);
    const i = this.active.indexOf(flow);
    if (i !== -1) this.active.splice(i, 1);
  }
}

const DEFAULT_POLL_MS = 10;
// setTimeout may fire a fraction of a millisecond before performance.now() says the delay passed.
const TIMER_SLACK_MS = 1;

/**
 * The flow controller: requests wait here, in one queue per (fairness id, priority), while the
 * pool is saturated, and leave in strict priority order across bands, by the band's fairness
 * policy between flows and by its ordering policy inside a flow. Capacity limits (global and per
 * band, requests and bytes) reject at the door; a TTL evicts from the queue; a client that goes
 * away (its AbortSignal) leaves at once. Every request gets exactly one outcome.
 *
 * Single-threaded by construction (Node): a dispatch pass checks the head request's candidates
 * with the detector and releases requests one by one until the detector reports saturation.
 * Dispatched requests count as pending until released, so a detector that counts in-flight
 * requests sees them before they reach an endpoint.
 */
export class FlowController {
  readonly #config: LoadedFlowControl;
  readonly #detector: SaturationDetector;
  readonly #now: () => number;
  readonly #observer: FlowControlObserver;
  readonly #pollMs: number;
  readonly #bands = new Map<number, Band>();
  /** Bands with a priority, highest first. */
  #order: Band[] = [];
  /** Their priorities, in the same order (what the usage-limit policy is asked about). */
  #priorities: number[] = [];
  #requests = 0;
  #bytes = 0;
  #pending = 0;
  #sequence = 0;
  #dispatching = false;
  #poll: ReturnType<typeof setTimeout> | null = null;
  #closed = false;

  constructor(config: LoadedFlowControl, deps: FlowControllerDeps) {
    this.#config = config;
    this.#detector = deps.detector;
    this.#now = deps.now ?? (() => performance.now());
    this.#observer = deps.observer ?? {};
    this.#pollMs = deps.pollIntervalMs ?? DEFAULT_POLL_MS;
    for (const b of config.priorityBands) this.#bands.set(b.priority, new Band(b.priority, b, false));
    this.#sortBands();
  }

  /**
   * Waits for the request's turn. Resolves `Dispatched` (call `release` after scheduling) or a
   * refusal whose `error` says what to answer; never rejects. Aborting `signal` while queued
   * evicts the request at once (`EvictedContextCancelled`).
   */
  enqueueAndWait(req: FlowControlRequest, signal?: AbortSignal): Promise<FlowControlResult> {
    const start = this.#now();
    const labels: FlowLabels = { fairnessId: req.fairnessId, priority: req.priority, modelName: req.modelName, targetModelName: req.targetModelName };
    if (this.#closed) return Promise.resolve(this.#refuse(labels, 'RejectedOther', 'the flow controller is closed', start, 'shutting-down'));
    if (signal?.aborted) return Promise.resolve(this.#refuse(labels, 'EvictedContextCancelled', 'the client went away before the request was queued', start));

    // Fast path: nothing is waiting, so nothing can be overtaken; go now unless the pool is full.
    if (this.#requests === 0 && this.#mayDispatch(req.candidates(), req.priority)) {
      this.#observer.outcome?.(labels, 'Dispatched', 0);
      return Promise.resolve(this.#dispatched(0));
    }
    const band = this.#bandFor(req.priority);

    const full = this.#capacityProblem(band, req.byteSize);
    if (full !== null) {
      const outcome = req.candidates().length === 0 ? 'RejectedNoEndpoints' : 'RejectedCapacity';
      if (band.onDemand && band.requests === 0) this.#dropBand(band);
      return Promise.resolve(this.#refuse(labels, outcome, full, start));
    }

    return new Promise<FlowControlResult>((resolve) => {
      const configured = band.template.requestTTLMs ?? this.#config.defaultRequestTTLMs;
      let ttlMs = configured > 0 ? configured : Number.POSITIVE_INFINITY;
      if (req.ttlMs !== undefined && req.ttlMs > 0 && req.ttlMs < ttlMs) ttlMs = req.ttlMs;
      const flow = band.flowFor(req.fairnessId);
      const item: Item = {
        requestId: req.requestId,
        byteSize: req.byteSize,
        enqueuedAt: start,
        deadline: start + ttlMs,
        sequence: this.#sequence++,
        heapIndex: -1,
        req,
        band,
        flow,
        labels,
        ttlMs,
        timer: null,
        abort: null,
        signal: signal ?? null,
        resolve,
      };
      flow.heap.push(item);
      flow.byteSize += item.byteSize;
      band.requests++;
      band.bytes += item.byteSize;
      this.#requests++;
      this.#bytes += item.byteSize;
      this.#observer.queueChanged?.(labels, 1, item.byteSize);
      if (signal) {
        item.abort = () => this.#finish(item, 'EvictedContextCancelled', 'the client went away while the request was queued');
        signal.addEventListener('abort', item.abort, { once: true });
      }
      this.#armTtl(item);
      this.#dispatch();
    });
  }

  /** Capacity may have freed (a response completed, metrics changed): try to dispatch now. */
  notify(): void {
    if (this.#requests > 0) this.#dispatch();
  }

  /** Current queue sizes. */
  stats(): FlowControlStats {
    return {
      requests: this.#requests,
      bytes: this.#bytes,
      pendingDispatches: this.#pending,
      bands: this.#order.map((b) => ({ priority: b.priority, requests: b.requests, bytes: b.bytes, flows: b.flows.size })),
    };
  }

  /** Stops the controller: every queued request is evicted (503 `rejected-shutting-down`), later ones refused. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#poll !== null) clearTimeout(this.#poll);
    this.#poll = null;
    for (const band of [...this.#order]) {
      for (const flow of [...band.flows.values()]) {
        for (const item of [...flow.heap.values()]) this.#finish(item, 'EvictedOther', 'the router is shutting down', 'shutting-down');
      }
    }
  }

  // ---- internals ----

  #bandFor(priority: number): Band {
    let band = this.#bands.get(priority);
    if (band === undefined) {
      const template = priority < 0 && this.#config.defaultNegativePriorityBand ? this.#config.defaultNegativePriorityBand : this.#config.defaultPriorityBand;
      band = new Band(priority, template, true);
      this.#bands.set(priority, band);
      this.#sortBands();
    }
    return band;
  }

  #dropBand(band: Band): void {
    this.#bands.delete(band.priority);
    this.#sortBands();
  }

  #sortBands(): void {
    this.#order = [...this.#bands.values()].sort((a, b) => b.priority - a.priority);
    this.#priorities = this.#order.map((b) => b.priority);
  }

  /** Why one more request of `bytes` does not fit, or null when it does. */
  #capacityProblem(band: Band, bytes: number): string | null {
    const c = this.#config;
    if (c.maxRequests > 0 && this.#requests + 1 > c.maxRequests) return `the queues hold ${this.#requests} requests (flowControl.maxRequests ${c.maxRequests})`;
    if (c.maxBytes > 0 && this.#bytes + bytes > c.maxBytes) return `the queues would hold ${this.#bytes + bytes} bytes (flowControl.maxBytes ${c.maxBytes})`;
    const t = band.template;
    if (t.maxRequests > 0 && band.requests + 1 > t.maxRequests) return `priority band ${band.priority} holds ${band.requests} requests (maxRequests ${t.maxRequests})`;
    if (t.maxBytes > 0 && band.bytes + bytes > t.maxBytes) return `priority band ${band.priority} would hold ${band.bytes + bytes} bytes (maxBytes ${t.maxBytes})`;
    return null;
  }

  /**
   * Whether a request of `priority` may go to `candidates` now: their saturation must be below the
   * priority's ceiling (1 without a usage-limit policy; lower for held-back priorities).
   */
  #mayDispatch(candidates: readonly Endpoint[], priority: number): boolean {
    const value = candidates.length === 0 ? 1 : this.#detector.saturation(candidates, this.#pending);
    this.#observer.saturation?.(value);
    return value < this.#ceiling(priority, value);
  }

  #ceiling(priority: number, saturation: number): number {
    const policy = this.#config.usageLimitPolicy;
    if (policy === null) return 1;
    let priorities = this.#priorities;
    if (!this.#bands.has(priority)) priorities = [...priorities, priority].sort((a, b) => b - a);
    const c = policy.computeLimit(saturation, priorities)[priorities.indexOf(priority)];
    return c === undefined || Number.isNaN(c) ? 1 : Math.min(1, Math.max(0, c));
  }

  #dispatched(waitMs: number): Dispatched {
    this.#pending++;
    let released = false;
    return {
      outcome: 'Dispatched',
      waitMs,
      release: () => {
        if (released) return;
        released = true;
        this.#pending--;
        this.notify();
      },
    };
  }

  #refuse(labels: FlowLabels, outcome: Exclude<QueueOutcome, 'Dispatched'>, detail: string, start: number, cause?: OtherCause): NotDispatched {
    const waitMs = this.#now() - start;
    this.#observer.outcome?.(labels, outcome, waitMs / 1000);
    return { outcome, waitMs, error: flowControlError(outcome, detail, cause) };
  }

  /** The next request by strict priority, then the band's fairness policy, then its ordering policy. */
  #next(): Item | null {
    for (const band of this.#order) {
      if (band.requests === 0) continue;
      const flow = band.state.pick(band.active, band.template.orderingPolicy) as Flow | null;
      // A policy that declines to pick leaves the band waiting; lower bands must not overtake it.
      return flow?.heap.peek() ?? null;
    }
    return null;
  }

  /** Releases requests while the head request's candidates are not saturated. */
  #dispatch(): void {
    if (this.#dispatching || this.#closed) return;
    this.#dispatching = true;
    const t0 = this.#now();
    try {
      while (this.#requests > 0) {
        const item = this.#next();
        if (item === null) break;
        // Held back (or saturated): lower bands have lower ceilings, so they wait too.
        if (!this.#mayDispatch(item.req.candidates(), item.band.priority)) {
          this.#armPoll();
          break;
        }
        this.#finish(item, 'Dispatched', '');
      }
    } finally {
      this.#dispatching = false;
      this.#observer.dispatchCycle?.((this.#now() - t0) / 1000);
    }
  }

  #armPoll(): void {
    if (this.#poll !== null) return;
    this.#poll = setTimeout(() => {
      this.#poll = null;
      this.notify();
    }, this.#pollMs);
    this.#poll.unref?.();
  }

  /**
   * Arms the TTL check: at the queue-wait budget, or earlier when a no-endpoint budget is
   * configured. Which budget applies is decided when the timer fires: the no-endpoint one while
   * the request has no candidates, the regular one otherwise.
   */
  #armTtl(item: Item): void {
    const noEndpoint = this.#config.noEndpointRequestTTLMs;
    const elapsed = this.#now() - item.enqueuedAt;
    const budgets = [item.ttlMs, noEndpoint !== null && noEndpoint > 0 ? noEndpoint : Number.POSITIVE_INFINITY];
    let next = Number.POSITIVE_INFINITY;
    for (const b of budgets) if (b > elapsed + TIMER_SLACK_MS && b - elapsed < next) next = b - elapsed;
    if (!Number.isFinite(next)) return;
    item.timer = setTimeout(() => this.#ttlCheck(item), Math.ceil(next));
    item.timer.unref?.();
  }

  #ttlCheck(item: Item): void {
    item.timer = null;
    if (item.heapIndex === -1) return;
    const elapsed = this.#now() - item.enqueuedAt;
    const noEndpoint = this.#config.noEndpointRequestTTLMs;
    const empty = item.req.candidates().length === 0;
    const budget = empty && noEndpoint !== null && noEndpoint > 0 ? noEndpoint : item.ttlMs;
    if (elapsed + TIMER_SLACK_MS >= budget) {
      const seconds = (budget / 1000).toFixed(3).replace(/\.?0+$/, '');
      if (empty) this.#finish(item, 'EvictedNoEndpoints', `no endpoint appeared within ${seconds}s`);
      else this.#finish(item, 'EvictedTTL', `not dispatched within ${seconds}s`);
      return;
    }
    this.#armTtl(item);
  }

  /** Takes a queued request out and gives it its outcome, exactly once. */
  #finish(item: Item, outcome: QueueOutcome, detail: string, cause?: OtherCause): void {
    if (item.heapIndex === -1) return;
    const { flow, band } = item;
    flow.heap.remove(item);
    flow.byteSize -= item.byteSize;
    band.requests--;
    band.bytes -= item.byteSize;
    this.#requests--;
    this.#bytes -= item.byteSize;
    if (flow.length === 0) band.dropFlow(flow);
    if (band.onDemand && band.requests === 0) this.#dropBand(band);
    if (item.timer !== null) clearTimeout(item.timer);
    item.timer = null;
    if (item.signal && item.abort) item.signal.removeEventListener('abort', item.abort);
    this.#observer.queueChanged?.(item.labels, -1, -item.byteSize);
    const waitMs = this.#now() - item.enqueuedAt;
    this.#observer.outcome?.(item.labels, outcome, waitMs / 1000);
    if (outcome === 'Dispatched') {
      band.state.dispatched?.(flow);
      item.resolve(this.#dispatched(waitMs));
    }
    else item.resolve({ outcome, waitMs, error: flowControlError(outcome, detail, cause) });
  }
}
