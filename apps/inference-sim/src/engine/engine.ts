import { Buffer } from 'node:buffer';
import { BlockPool } from './block-pool.js';
import type { Clock } from './clock.js';
import type {
  BlockHasher,
  EngineCounters,
  EngineRequest,
  EngineSnapshot,
  KvEventSink,
  RequestObserver,
  RequestOutcome,
  SubmitResult,
} from './contracts.js';
import { attentionPairs, resolveLatencyModel, type LatencyModel, type StepComposition } from './latency.js';
import { DEFAULT_MAX_LAG_MS, sampleKvTransferMs, validateEngineOptions, type EngineOptions } from './options.js';
import { BinaryHeap, Deque } from './queues.js';

// Request states. A request is WAITING from submission until admitted (P/D decode legs stay
// WAITING during their KV transfer, as vLLM's WAITING_FOR_REMOTE_KVS requests stay in its queue).
const WAITING = 0;
const RUNNING = 1;
const FINISHED = 2;

// KV-transfer progress of a P/D decode leg.
const TRANSFER_NONE = 0;
const TRANSFER_PENDING = 1;
const TRANSFER_DONE = 2;

// What a request's entry in the timer heap stands for.
const DUE_NONE = 0;
const DUE_TOKEN = 1; // per-request calculators: next output token
const DUE_TRANSFER = 2; // decode leg: KV transfer done
const DUE_RELEASE = 3; // finished prefill leg: transfer read its pinned blocks

/** Shortest step the engine runs, so a zero-cost model cannot spin the timeline in place. */
const MIN_STEP_MS = 1e-3;

const OK: SubmitResult = Object.freeze({ ok: true });
const CLOSED: SubmitResult = Object.freeze({ ok: false, reason: 'closed' });
const TOO_LONG: SubmitResult = Object.freeze({ ok: false, reason: 'too_long' });
const QUEUE_FULL: SubmitResult = Object.freeze({ ok: false, reason: 'queue_full' });

/** Surfaces an error from an observer or sink without leaving the engine half-updated. */
function reportLater(err: unknown): void {
  queueMicrotask(() => {
    throw err;
  });
}

function digestKey(d: Uint8Array): string {
  return Buffer.from(d.buffer, d.byteOffset, d.byteLength).toString('latin1');
}

class Seq {
  readonly req: EngineRequest;
  readonly observer: RequestObserver;
  /** Arrival sequence number: FCFS tie-break and "latest arrival" for preemption. */
  readonly order: number;
  readonly arrivalMs: number;
  /** Prompt then output tokens; only the first `numTokens` exist yet. */
  readonly tokens: Uint32Array;
  readonly promptLen: number;
  /** Output tokens to produce (1 for a P/D prefill leg). */
  readonly outputTarget: number;
  readonly extraFirst: readonly unknown[] | null;
  readonly extraRest: readonly unknown[] | null;

  state = WAITING;
  transfer = TRANSFER_NONE;
  numTokens: number;
  numComputed = 0;
  generated = 0;
  /** KV blocks in token order. */
  readonly blocks: number[] = [];
  /** Leading blocks already offered to the prefix cache (hits, registered, or duplicates). */
  numRegistered = 0;
  /** Per full block of the token sequence: cache key and event hash; hashed once, kept across preemption. */
  readonly keys: string[] = [];
  readonly eventHashes: bigint[] = [];
  lastDigest: Uint8Array | null = null;

  cachedTokens = -1;
  scheduledMs: number | null = null;
  firstTokenMs: number | null = null;
  preemptions = 0;

  /** Tokens scheduled in the step in flight, and the context before them. */
  stepTokens = 0;
  stepContext = 0;

  dueAt = 0;
  dueKind = DUE_NONE;
  dueIndex = -1;

  constructor(
    req: EngineRequest,
    observer: RequestObserver,
    order: number,
    arrivalMs: number,
    outputTarget: number,
    extraFirst: readonly unknown[] | null,
    extraRest: readonly unknown[] | null,
  ) {
    this.req = req;
    this.observer = observer;
    this.order = order;
    this.arrivalMs = arrivalMs;
    this.promptLen = req.promptTokenIds.length;
    this.outputTarget = outputTarget;
    this.tokens = new Uint32Array(this.promptLen + outputTarget);
    this.tokens.set(req.promptTokenIds);
    for (let i = 0; i < outputTarget; i++) this.tokens[this.promptLen + i] = req.outputTokenIds[i] as number;
    this.numTokens = this.promptLen;
    this.extraFirst = extraFirst;
    this.extraRest = extraRest;
  }
}

/** What the engine is given besides its options. */
export interface EngineDeps {
  clock: Clock;
  hasher: BlockHasher;
  events: KvEventSink;
  /** Uniform [0, 1) source for jitter; seed it for reproducible runs. Default Math.random. */
  random?: () => number;
  /**
   * Told when a step starts (step-based models): its composition (an object reused by the next
   * step — read it during the call), virtual start time and duration. For benchmarks and tests.
   */
  onStep?: (composition: Readonly<StepComposition>, startMs: number, durationMs: number) => void;
}

/**
 * One simulated vLLM engine: V1 scheduler (continuous batching, chunked prefill, recompute
 * preemption, LoRA slots, FCFS or priority), a KV block pool with vLLM's prefix cache and KV
 * events, P/D legs, and a latency model that prices every step. See README.md in this folder.
 */
export class Engine {
  /** The options the engine runs with. */
  readonly options: Readonly<EngineOptions>;
  /** The resolved latency model. */
  readonly latency: LatencyModel;
  /** Monotonic counters for the metrics layer. */
  readonly counters: EngineCounters = {
    promptTokens: 0,
    generationTokens: 0,
    prefixCacheQueries: 0,
    prefixCacheHits: 0,
    preemptedPrefixCacheQueries: 0,
    preemptedPrefixCacheHits: 0,
    externalPrefixCacheQueries: 0,
    externalPrefixCacheHits: 0,
    preemptions: 0,
    requestsFinished: 0,
    requestsAborted: 0,
    steps: 0,
    lagResyncs: 0,
  };

  readonly #clock: Clock;
  readonly #hasher: BlockHasher;
  readonly #events: KvEventSink;
  readonly #random: () => number;
  readonly #onStep: EngineDeps['onStep'];
  readonly #pool: BlockPool;
  readonly #stepBased: boolean;
  readonly #bs: number;
  readonly #maxNumSeqs: number;
  readonly #maxLoras: number;
  readonly #maxLag: number;
  readonly #priorityPolicy: boolean;
  readonly #kvBytesPerToken: number;

  readonly #byId = new Map<string, Seq>();
  readonly #fcfs = new Deque<Seq>();
  readonly #prio = new BinaryHeap<Seq>(
    (a, b) => a.req.priority < b.req.priority || (a.req.priority === b.req.priority && a.order < b.order),
  );
  #waitingCount = 0;
  readonly #running: Seq[] = [];
  readonly #runningLoras = new Map<string, number>();
  readonly #waitingLoras = new Map<string, number>();
  readonly #loraKeys = new Map<string, readonly unknown[]>();
  // Everything that happens at a known future time besides the step end: transfers, pinned-block
  // releases and, under the per-request calculators, each running request's next token.
  readonly #due = new BinaryHeap<Seq>(
    (a, b) => a.dueAt < b.dueAt || (a.dueAt === b.dueAt && a.order < b.order),
    (s, i) => {
      s.dueIndex = i;
    },
  );
  #pinnedBlocks = 0;

  // Scratch arrays reused by every step.
  readonly #scheduled: Seq[] = [];
  readonly #skipped: Seq[] = [];
  readonly #hits: number[] = [];
  readonly #composition: Required<StepComposition> = {
    prefillTokens: 0,
    prefillAttentionPairs: 0,
    decodeTokens: 0,
    decodeContext: 0,
    batchSize: 0,
  };

  /** Virtual time: where the last step ended, advanced exactly by step durations. */
  #vnow: number;
  #stepInFlight = false;
  #stepEndAt = 0;
  #kickPending = false;
  #kickAt = 0;
  #timer: unknown = undefined;
  #timerAt = Infinity;
  #inLoop = false;
  #closed = false;
  #order = 0;
  readonly #onTimerBound = (): void => this.#onTimer();

  constructor(options: EngineOptions, deps: EngineDeps) {
    validateEngineOptions(options);
    this.latency = resolveLatencyModel(options.latency);
    this.options = Object.freeze({ ...options });
    this.#clock = deps.clock;
    this.#hasher = deps.hasher;
    this.#events = guardedSink(deps.events);
    this.#random = deps.random ?? Math.random;
    this.#onStep = deps.onStep;
    this.#pool = new BlockPool(options.numGpuBlocks, this.#events);
    this.#stepBased = this.latency.stepBased;
    this.#bs = options.blockSize;
    this.#maxNumSeqs = options.maxNumSeqs;
    this.#maxLoras = options.maxLoras;
    this.#maxLag = options.maxLagMs ?? DEFAULT_MAX_LAG_MS;
    this.#priorityPolicy = options.schedulingPolicy === 'priority';
    this.#kvBytesPerToken = this.latency.roofline.kvBytesPerToken;
    this.#vnow = this.#clock.now();
  }

  /** Queues a request; tokens and the outcome reach `observer` from the engine's timers. */
  submit(req: EngineRequest, observer: RequestObserver): SubmitResult {
    if (this.#closed) return CLOSED;
    const promptLen = req.promptTokenIds.length;
    if (promptLen < 1) throw new RangeError(`request ${req.id}: the prompt has no tokens`);
    if (req.outputTokenIds.length < 1) throw new RangeError(`request ${req.id}: no output tokens to generate`);
    if (this.#byId.has(req.id)) throw new Error(`request ${req.id} is already in the engine`);
    const outputTarget = req.pd === 'prefill' ? 1 : req.outputTokenIds.length;
    if (promptLen + outputTarget > this.options.maxModelLen) return TOO_LONG;
    // The last output token is never computed, so it needs no KV slot.
    if (Math.ceil((promptLen + outputTarget - 1) / this.#bs) > this.#pool.numBlocks - 1) return TOO_LONG;
    if (this.#waitingCount >= this.options.maxWaitingQueueLength) return QUEUE_FULL;

    const s = new Seq(req, observer, this.#order++, this.#clock.now(), outputTarget, ...this.#extraKeys(req));
    this.#byId.set(req.id, s);
    this.#waitingCount++;
    if (req.loraName !== null) inc(this.#waitingLoras, req.loraName);
    if (this.#priorityPolicy) this.#prio.push(s);
    else this.#fcfs.push(s);
    this.#kick();
    return OK;
  }

  /** Ends a request now: frees its blocks and reports it 'aborted'. False if the engine does not hold it. */
  abort(id: string): boolean {
    const s = this.#byId.get(id);
    if (!s) return false;
    this.#finish(s, 'aborted', this.#clock.now());
    if (this.#waitingCount > 0) this.#kick();
    return true;
  }

  /** Gauges as vLLM reports them. */
  snapshot(): EngineSnapshot {
    return {
      running: this.#running.length,
      waiting: this.#waitingCount,
      kvUsage: this.#pool.usage(),
      numGpuBlocks: this.options.numGpuBlocks,
      blockSize: this.#bs,
      runningLoras: [...this.#runningLoras.keys()],
      waitingLoras: [...this.#waitingLoras.keys()],
      maxLoras: this.#maxLoras,
      cachedBlocks: this.#pool.numCached,
      pinnedBlocks: this.#pinnedBlocks,
    };
  }

  /**
   * Drops every prefix-cache entry and publishes AllBlocksCleared. Blocks in use lose their hash
   * too (vLLM refuses to reset while blocks are in use), so the cache and every index fed by the
   * events agree that nothing is cached.
   */
  resetPrefixCache(): void {
    this.#pool.resetCache();
  }

  /** Stops the timers; every request still held finishes 'aborted'; later submissions get 'closed'. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) this.#clock.clearTimer(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
    this.#stepInFlight = false;
    this.#kickPending = false;
    const now = this.#clock.now();
    for (const s of [...this.#byId.values()]) this.#finish(s, 'aborted', now);
    this.#due.clear();
    this.#fcfs.clear();
    this.#prio.clear();
  }

  // ---- timeline -------------------------------------------------------------------------------

  /** Asks for a scheduling pass as soon as possible (a zero-delay timer, so submissions of one tick batch up). */
  #kick(): void {
    if (this.#closed || this.#kickPending) return;
    if (this.#stepBased && this.#stepInFlight) return; // the next step picks the work up
    this.#kickPending = true;
    this.#kickAt = this.#clock.now();
    if (!this.#inLoop) this.#arm();
  }

  /** Keeps exactly one clock timer, due at the earliest pending event. */
  #arm(): void {
    let next = this.#kickPending ? this.#kickAt : Infinity;
    if (this.#stepInFlight && this.#stepEndAt < next) next = this.#stepEndAt;
    const top = this.#due.peek();
    if (top !== undefined && top.dueAt < next) next = top.dueAt;
    if (next === this.#timerAt) return;
    if (this.#timer !== undefined) this.#clock.clearTimer(this.#timer);
    this.#timer = undefined;
    this.#timerAt = next;
    if (next !== Infinity) this.#timer = this.#clock.setTimer(this.#onTimerBound, next - this.#clock.now());
  }

  /** Runs every event due by now, in virtual-time order, then re-arms. */
  #onTimer(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    if (this.#closed) return;
    this.#inLoop = true;
    try {
      const now = this.#clock.now();
      for (;;) {
        if (this.#closed) return;
        const kickAt = this.#kickPending ? this.#kickAt : Infinity;
        const stepEnd = this.#stepInFlight ? this.#stepEndAt : Infinity;
        const top = this.#due.peek();
        const dueAt = top !== undefined ? top.dueAt : Infinity;
        if (stepEnd <= now && stepEnd <= dueAt && stepEnd <= kickAt) {
          this.#stepInFlight = false;
          this.#completeStep(stepEnd);
          this.#wake(stepEnd);
        } else if (top !== undefined && dueAt <= now && dueAt <= kickAt) {
          this.#due.pop();
          this.#handleDue(top, now);
          this.#wake(dueAt);
        } else if (kickAt <= now) {
          this.#kickPending = false;
          this.#wake(kickAt);
        } else break;
      }
    } finally {
      this.#inLoop = false;
    }
    if (!this.#closed) this.#arm();
  }

  /** Something may be runnable at virtual time `at`: start a step, or admit under the per-request calculators. */
  #wake(at: number): void {
    if (this.#closed) return;
    if (this.#stepBased) {
      if (!this.#stepInFlight) this.#startStep(at > this.#vnow ? at : this.#vnow);
    } else if (this.#waitingCount > 0) {
      this.#admitWaiting(at, Infinity);
    }
  }

  #setDue(s: Seq, at: number, kind: number): void {
    if (s.dueIndex >= 0) this.#due.remove(s.dueIndex);
    s.dueAt = at;
    s.dueKind = kind;
    this.#due.push(s);
  }

  #handleDue(s: Seq, now: number): void {
    const kind = s.dueKind;
    s.dueKind = DUE_NONE;
    if (kind === DUE_TRANSFER) {
      // The KV arrived: everything but the last prompt token counts as computed (vLLM recomputes
      // it to get logits), and the received blocks enter the prefix cache.
      s.transfer = TRANSFER_DONE;
      s.numComputed = s.promptLen - 1;
      this.#cacheFullBlocks(s, Math.floor(s.numComputed / this.#bs));
    } else if (kind === DUE_RELEASE) {
      this.#pinnedBlocks -= s.blocks.length;
      this.#pool.free(s.blocks);
      s.blocks.length = 0;
    } else if (kind === DUE_TOKEN) {
      this.#perRequestToken(s, now);
    }
  }

  // ---- step-based models ----------------------------------------------------------------------

  #startStep(at: number): void {
    const now = this.#clock.now();
    if (now - at > this.#maxLag) {
      at = now;
      this.counters.lagResyncs++;
    }
    this.#vnow = at;
    if (!this.#schedule(at)) return;
    const c = this.#composition;
    const d = Math.max(MIN_STEP_MS, this.latency.stepMs(c));
    this.#stepInFlight = true;
    this.#stepEndAt = at + d;
    this.counters.steps++;
    if (this.#onStep) {
      try {
        this.#onStep(c, at, d);
      } catch (err) {
        reportLater(err);
      }
    }
  }

  /** vLLM V1 `Scheduler.schedule`: running requests first, then admissions. Returns whether the step has work. */
  #schedule(at: number): boolean {
    const running = this.#running;
    this.#scheduled.length = 0;
    let budget = this.options.maxNumBatchedTokens;
    let preempted = false;
    let i = 0;
    while (i < running.length && budget > 0) {
      const s = running[i] as Seq;
      let n = s.numTokens - s.numComputed;
      if (n > budget) n = budget;
      if (n <= 0) {
        i++;
        continue;
      }
      let selfPreempted = false;
      while (!this.#allocate(s, s.numComputed, n, 0, s.numComputed + n)) {
        const vi = this.#victimIndex();
        const v = running[vi] as Seq;
        budget += v.stepTokens; // a victim already scheduled this step gives its tokens back
        this.#preempt(v, vi);
        preempted = true;
        if (v === s) {
          selfPreempted = true;
          break;
        }
        if (vi < i) i--;
      }
      if (selfPreempted) break;
      s.stepContext = s.numComputed;
      s.stepTokens = n;
      s.numComputed += n;
      budget -= n;
      this.#scheduled.push(s);
      i++;
    }
    if (!preempted) this.#admitWaiting(at, budget);

    const c = this.#composition;
    c.prefillTokens = 0;
    c.prefillAttentionPairs = 0;
    c.decodeTokens = 0;
    c.decodeContext = 0;
    c.batchSize = 0;
    for (const s of this.#scheduled) {
      if (s.stepTokens === 0) continue; // preempted after being scheduled
      c.batchSize++;
      if (s.stepTokens === 1 && s.numComputed === s.numTokens) {
        c.decodeTokens++;
        c.decodeContext += s.numComputed;
      } else {
        c.prefillTokens += s.stepTokens;
        c.prefillAttentionPairs += attentionPairs(s.stepTokens, s.stepContext);
      }
    }
    return c.batchSize > 0;
  }

  /** Releases the step's tokens at its end: one per request whose computed tokens caught up. */
  #completeStep(endAt: number): void {
    this.#vnow = endAt;
    const scheduled = this.#scheduled;
    for (let k = 0; k < scheduled.length; k++) {
      const s = scheduled[k] as Seq;
      const n = s.stepTokens;
      s.stepTokens = 0;
      if (n === 0 || s.state !== RUNNING) continue;
      if (s.numComputed === s.numTokens) this.#releaseToken(s, endAt);
    }
    scheduled.length = 0;
  }

  // ---- admission (both kinds of model) --------------------------------------------------------

  /** The waiting-queue half of a scheduling pass; returns the budget left. */
  #admitWaiting(at: number, budget: number): number {
    const running = this.#running;
    const skipped = this.#skipped;
    skipped.length = 0;
    while (budget > 0 && running.length < this.#maxNumSeqs) {
      const s = this.#peekWaiting();
      if (s === undefined) break;
      if (!this.#loraFits(s) || s.transfer === TRANSFER_PENDING) {
        this.#popWaiting();
        skipped.push(s);
        continue;
      }
      if (s.req.pd === 'decode' && s.transfer === TRANSFER_NONE) {
        if (!this.#startTransfer(s, at)) {
          if (!this.#skipBlocked(s)) break;
          continue;
        }
        this.#popWaiting();
        skipped.push(s); // stays queued, as vLLM's WAITING_FOR_REMOTE_KVS requests do
        continue;
      }
      const lookedUp = s.numComputed === 0;
      let hitCount = 0;
      if (lookedUp) hitCount = this.#lookup(s);
      const base = lookedUp ? hitCount * this.#bs : s.numComputed;
      let n = s.numTokens - base;
      if (n > budget) n = budget;
      if (!this.#allocate(s, base, n, hitCount, base + n)) {
        if (!this.#skipBlocked(s)) break;
        continue;
      }
      this.#popWaiting();
      if (lookedUp) this.#recordLookup(s, base);
      s.stepContext = base;
      s.stepTokens = n;
      s.numComputed = base + n;
      budget -= n;
      this.#waitingCount--;
      s.state = RUNNING;
      running.push(s);
      if (s.req.loraName !== null) {
        dec(this.#waitingLoras, s.req.loraName);
        inc(this.#runningLoras, s.req.loraName);
      }
      const start = at > s.arrivalMs ? at : s.arrivalMs;
      if (s.scheduledMs === null) s.scheduledMs = this.#stepBased ? at : start;
      if (this.#stepBased) this.#scheduled.push(s);
      else this.#startRequestTiming(s, start, n);
    }
    // Skipped requests keep their place at the head of the queue, in order.
    for (let k = skipped.length - 1; k >= 0; k--) this.#prependWaiting(skipped[k] as Seq);
    skipped.length = 0;
    return budget;
  }

  /**
   * A waiting request could not get its blocks: admission stops there (FCFS), unless nothing is
   * running, in which case only finished transfers or pinned-block releases can free memory and
   * a P/D decode leg queued behind it may be what holds the blocks; then it is passed over.
   */
  #skipBlocked(s: Seq): boolean {
    if (this.#running.length > 0) return false;
    this.#popWaiting();
    this.#skipped.push(s);
    return true;
  }

  #loraFits(s: Seq): boolean {
    const name = s.req.loraName;
    return name === null || this.#runningLoras.has(name) || this.#runningLoras.size < this.#maxLoras;
  }

  /** Decode leg: reserve blocks for the whole prompt and wait for its KV to arrive. */
  #startTransfer(s: Seq, at: number): boolean {
    const hitCount = this.#lookup(s);
    const base = hitCount * this.#bs;
    if (!this.#allocate(s, base, s.promptLen - base, hitCount, base)) return false;
    this.#recordLookup(s, base);
    this.counters.externalPrefixCacheHits += s.promptLen - base;
    s.transfer = TRANSFER_PENDING;
    this.#setDue(s, at + sampleKvTransferMs(s.promptLen, this.options.kvTransfer, this.#kvBytesPerToken, this.#random), DUE_TRANSFER);
    return true;
  }

  #recordLookup(s: Seq, hitTokens: number): void {
    if (s.cachedTokens < 0) {
      s.cachedTokens = hitTokens;
      this.counters.prefixCacheQueries += s.numTokens;
      this.counters.prefixCacheHits += hitTokens;
      this.counters.externalPrefixCacheQueries += s.numTokens;
    } else if (s.preemptions > 0) {
      this.counters.preemptedPrefixCacheQueries += s.numTokens;
      this.counters.preemptedPrefixCacheHits += hitTokens;
    }
  }

  #victimIndex(): number {
    const running = this.#running;
    if (!this.#priorityPolicy) return running.length - 1;
    let worst = 0;
    let w = running[0] as Seq;
    for (let k = 1; k < running.length; k++) {
      const a = running[k] as Seq;
      if (a.req.priority > w.req.priority || (a.req.priority === w.req.priority && a.order > w.order)) {
        worst = k;
        w = a;
      }
    }
    return worst;
  }

  /** Recompute preemption: free the blocks, forget the computed tokens, back to the head of the queue. */
  #preempt(v: Seq, index: number): void {
    this.#running.splice(index, 1);
    this.#pool.free(v.blocks);
    v.blocks.length = 0;
    v.numRegistered = 0;
    v.numComputed = 0;
    v.stepTokens = 0;
    v.preemptions++;
    this.counters.preemptions++;
    if (v.dueIndex >= 0) this.#due.remove(v.dueIndex);
    v.dueKind = DUE_NONE;
    v.state = WAITING;
    this.#waitingCount++;
    if (v.req.loraName !== null) {
      dec(this.#runningLoras, v.req.loraName);
      inc(this.#waitingLoras, v.req.loraName);
    }
    this.#prependWaiting(v);
  }

  // ---- per-request calculators ----------------------------------------------------------------

  /**
   * First token after the request's TTFT. A decode leg's TTFT was its KV transfer, already waited,
   * unless it was preempted since and recomputes its prompt locally.
   */
  #startRequestTiming(s: Seq, start: number, uncachedTokens: number): void {
    const ttft =
      s.transfer === TRANSFER_DONE && s.preemptions === 0
        ? 0
        : this.latency.sampleTimeToFirstTokenMs(uncachedTokens, this.#running.length, this.#maxNumSeqs, this.#random);
    this.#setDue(s, start + ttft, DUE_TOKEN);
  }

  /** Releases a request's due token, gives the token a KV slot, and books the next one an ITL later. */
  #perRequestToken(s: Seq, now: number): void {
    const at = s.dueAt;
    if (!this.#releaseToken(s, at)) return;
    while (!this.#allocate(s, s.numComputed, 1, 0, s.numComputed + 1)) {
      const vi = this.#victimIndex();
      const v = this.#running[vi] as Seq;
      this.#preempt(v, vi);
      if (v === s) return;
    }
    s.numComputed++;
    let base = at;
    if (now - at > this.#maxLag) {
      base = now;
      this.counters.lagResyncs++;
    }
    this.#setDue(s, base + this.latency.sampleInterTokenLatencyMs(this.#running.length, this.#maxNumSeqs, this.#random), DUE_TOKEN);
  }

  // ---- tokens and endings ---------------------------------------------------------------------

  /** Produces one output token; returns whether the request still runs afterwards. */
  #releaseToken(s: Seq, at: number): boolean {
    s.generated++;
    s.numTokens++;
    this.counters.generationTokens++;
    if (s.firstTokenMs === null) {
      s.firstTokenMs = at;
      this.counters.promptTokens += s.promptLen;
    }
    try {
      s.observer.onTokens(1, at);
    } catch (err) {
      reportLater(err);
    }
    if (s.state !== RUNNING) return false; // aborted from the callback
    if (s.generated >= s.outputTarget) {
      this.#finish(s, 'done', at);
      return false;
    }
    return true;
  }

  #finish(s: Seq, reason: RequestOutcome['reason'], at: number): void {
    const prev = s.state;
    s.state = FINISHED;
    s.stepTokens = 0;
    this.#byId.delete(s.req.id);
    if (s.dueIndex >= 0) this.#due.remove(s.dueIndex);
    s.dueKind = DUE_NONE;
    const lora = s.req.loraName;
    if (prev === RUNNING) {
      const i = this.#running.indexOf(s);
      if (i >= 0) this.#running.splice(i, 1);
      if (lora !== null) dec(this.#runningLoras, lora);
    } else if (prev === WAITING) {
      this.#waitingCount--; // its queue entry is dropped when it reaches the head
      if (lora !== null) dec(this.#waitingLoras, lora);
    }
    if (reason === 'done' && s.req.pd === 'prefill' && s.blocks.length > 0) {
      // The decode side reads these blocks; they stay allocated until the transfer is assumed done.
      this.#pinnedBlocks += s.blocks.length;
      this.#setDue(s, at + sampleKvTransferMs(s.promptLen, this.options.kvTransfer, this.#kvBytesPerToken, this.#random), DUE_RELEASE);
    } else if (s.blocks.length > 0) {
      this.#pool.free(s.blocks);
      s.blocks.length = 0;
    }
    if (reason === 'done') this.counters.requestsFinished++;
    else this.counters.requestsAborted++;
    const outcome: RequestOutcome = {
      reason,
      promptTokens: s.promptLen,
      cachedTokens: s.cachedTokens < 0 ? 0 : s.cachedTokens,
      outputTokens: s.generated,
      preemptions: s.preemptions,
      arrivalMs: s.arrivalMs,
      scheduledMs: s.scheduledMs,
      firstTokenMs: s.firstTokenMs,
      finishedMs: at,
    };
    try {
      s.observer.onFinished(outcome);
    } catch (err) {
      reportLater(err);
    }
  }

  // ---- KV cache -------------------------------------------------------------------------------

  /** Longest run of cached full blocks, capped so the last token is computed; block ids go to #hits. */
  #lookup(s: Seq): number {
    const cap = Math.floor((s.numTokens - 1) / this.#bs);
    this.#hashBlocks(s, cap);
    const hits = this.#hits;
    hits.length = 0;
    for (let i = 0; i < cap; i++) {
      const id = this.#pool.lookup(s.keys[i] as string);
      if (id === undefined) break;
      hits.push(id);
    }
    return hits.length;
  }

  /**
   * vLLM `allocate_slots`: blocks for `base + n` tokens (after touching `hitCount` prefix hits in
   * #hits), refused when the free queue minus the idle hits cannot supply them; then the blocks
   * that `cacheTokens` fill enter the prefix cache.
   */
  #allocate(s: Seq, base: number, n: number, hitCount: number, cacheTokens: number): boolean {
    const fresh = Math.ceil((base + n) / this.#bs) - s.blocks.length - hitCount;
    if (fresh > 0 || hitCount > 0) {
      const idleHits = hitCount > 0 ? this.#pool.countIdle(this.#hits, hitCount) : 0;
      if (fresh > this.#pool.numFree - idleHits) return false;
      if (hitCount > 0) {
        this.#pool.touch(this.#hits, hitCount, s.blocks);
        s.numRegistered = hitCount;
      }
      if (fresh > 0) this.#pool.allocate(fresh, s.blocks);
    }
    this.#cacheFullBlocks(s, Math.floor(cacheTokens / this.#bs));
    return true;
  }

  /** Registers the request's blocks `[numRegistered, full)` and publishes them, one BlockStored per consecutive run. */
  #cacheFullBlocks(s: Seq, full: number): void {
    if (full > s.blocks.length) full = s.blocks.length;
    if (full <= s.numRegistered) return;
    this.#hashBlocks(s, full);
    let runStart = -1;
    for (let i = s.numRegistered; i < full; i++) {
      if (this.#pool.register(s.blocks[i] as number, s.keys[i] as string, s.eventHashes[i] as bigint)) {
        if (runStart < 0) runStart = i;
      } else if (runStart >= 0) {
        this.#emitStored(s, runStart, i);
        runStart = -1;
      }
    }
    if (runStart >= 0) this.#emitStored(s, runStart, full);
    s.numRegistered = full;
  }

  /** Hashes the request's full blocks up to `n` (each block once per request, parent-chained). */
  #hashBlocks(s: Seq, n: number): void {
    const bs = this.#bs;
    for (let i = s.keys.length; i < n; i++) {
      const digest = this.#hasher.hashBlock(s.lastDigest, s.tokens.subarray(i * bs, (i + 1) * bs), i === 0 ? s.extraFirst : s.extraRest);
      s.lastDigest = digest;
      s.keys.push(digestKey(digest));
      s.eventHashes.push(this.#hasher.eventHash(digest));
    }
  }

  #emitStored(s: Seq, from: number, to: number): void {
    const bs = this.#bs;
    const extraKeys: (readonly unknown[] | null)[] = [];
    for (let i = from; i < to; i++) extraKeys.push(i === 0 ? s.extraFirst : s.extraRest);
    this.#events.blockStored({
      blockHashes: s.eventHashes.slice(from, to),
      parentBlockHash: from > 0 ? (s.eventHashes[from - 1] as bigint) : null,
      tokenIds: Array.from(s.tokens.subarray(from * bs, to * bs)),
      blockSize: bs,
      loraName: s.req.loraName,
      extraKeys,
    });
  }

  /** vLLM's per-block extra keys: the adapter name on every block, the cache salt on the first. */
  #extraKeys(req: EngineRequest): [readonly unknown[] | null, readonly unknown[] | null] {
    let rest: readonly unknown[] | null = null;
    if (req.loraName !== null) {
      rest = this.#loraKeys.get(req.loraName) ?? null;
      if (rest === null) {
        rest = Object.freeze([req.loraName]);
        this.#loraKeys.set(req.loraName, rest);
      }
    }
    const first = req.cacheSalt ? Object.freeze([...(rest ?? []), req.cacheSalt]) : rest;
    return [first, rest];
  }

  // ---- waiting queue --------------------------------------------------------------------------

  #peekWaiting(): Seq | undefined {
    for (;;) {
      const s = this.#priorityPolicy ? this.#prio.peek() : this.#fcfs.peek();
      if (s === undefined || s.state === WAITING) return s;
      this.#popWaiting(); // aborted while queued
    }
  }

  #popWaiting(): void {
    if (this.#priorityPolicy) this.#prio.pop();
    else this.#fcfs.shift();
  }

  #prependWaiting(s: Seq): void {
    if (this.#priorityPolicy) this.#prio.push(s);
    else this.#fcfs.unshift(s);
  }
}

function inc(m: Map<string, number>, key: string): void {
  m.set(key, (m.get(key) ?? 0) + 1);
}

function dec(m: Map<string, number>, key: string): void {
  const n = (m.get(key) ?? 0) - 1;
  if (n <= 0) m.delete(key);
  else m.set(key, n);
}

/** Keeps a throwing sink from interrupting a block-pool update halfway. */
function guardedSink(sink: KvEventSink): KvEventSink {
  return {
    blockStored(e) {
      try {
        sink.blockStored(e);
      } catch (err) {
        reportLater(err);
      }
    },
    blockRemoved(e) {
      try {
        sink.blockRemoved(e);
      } catch (err) {
        reportLater(err);
      }
    },
    allBlocksCleared() {
      try {
        sink.allBlocksCleared();
      } catch (err) {
        reportLater(err);
      }
    },
  };
}
