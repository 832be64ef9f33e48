// ZMQ ingestion of vLLM KV events (upstream llm-d-router pkg/kvevents/zmq_subscriber.go). Two modes:
// centralized, where the indexer's SUB socket binds and every engine's PUB connects to it (the
// publisher is then named by its topic), and per endpoint, where the indexer connects one SUB socket to
// each engine as endpoints come and go (the publisher is then the serving endpoint it was given, since
// every data-parallel rank publishes the same topic).
//
// Sequence numbers are tracked per publisher. A gap, a late join or a restart asks the publisher's
// ROUTER socket for a replay; the publisher's live batches are held meanwhile and released after it, so
// a pod's batches reach the sink in sequence order and none twice.
import { decodeKvEventBatch, parseKvTopic } from '@llmd/kv-cache';
import type { KvEventBatch } from '@llmd/kv-cache';
import type { Logger } from 'pino';
import { Dealer, Subscriber } from 'zeromq';
import { encodeSeq, parseLiveFrames, parseReplayFrames } from './frames.js';
import { ConcurrencyLimiter } from './limiter.js';
import type { KvEventSink } from './pool.js';

/** Replay bounds; the defaults are upstream's. */
export interface ReplayOptions {
  /** Whole replay, including the wait for a slot; 2 minutes. */
  readonly timeoutMs: number;
  /** Longest silence between two replies of one attempt; 2 seconds. */
  readonly attemptIdleTimeoutMs: number;
  /** After a failed replay, no new one for this long; 30 seconds. */
  readonly cooldownMs: number;
  /** Replays in flight at once over all publishers; 8. */
  readonly maxConcurrent: number;
  /** Attempts in a row that deliver nothing before the replay fails; 3. */
  readonly maxAttemptsWithoutProgress: number;
  /** Pause between attempts; 100 ms. */
  readonly retryBackoffMs: number;
}

/** Upstream's replay bounds (RTR zmq_subscriber.go). */
export const DEFAULT_REPLAY_OPTIONS: ReplayOptions = Object.freeze({
  timeoutMs: 120_000,
  attemptIdleTimeoutMs: 2_000,
  cooldownMs: 30_000,
  maxConcurrent: 8,
  maxAttemptsWithoutProgress: 3,
  retryBackoffMs: 100,
});

/** Options of {@link KvEventSubscriber}. */
export interface KvEventSubscriberOptions {
  /** Receives decoded batches and pod resets; usually a {@link ShardedEventPool}. */
  readonly sink: KvEventSink;
  readonly logger: Logger;
  /** ZMQ subscription prefix; `kv@` by default. */
  readonly topicFilter?: string;
  /** The ROUTER endpoint serving a publisher's replays (e.g. `tcp://<host>:<replayPort>`); none when absent or null. */
  readonly replayEndpointFor?: (publisher: string) => string | null | undefined;
  readonly replay?: Partial<ReplayOptions>;
  /** Live batches held per publisher during a replay; older ones are dropped beyond this. 10,000 (vLLM's buffer_steps) by default. */
  readonly maxHeldPerPublisher?: number;
  /** SUB socket receive high-water mark; 100,000 (vLLM's PUB hwm) by default. */
  readonly receiveHighWaterMark?: number;
  /** Clock in milliseconds, for the replay cooldown; Date.now by default. */
  readonly now?: () => number;
}

/** Monotonic counters of a {@link KvEventSubscriber}, read by the app's metrics. */
export interface KvEventSubscriberCounters {
  /** Live messages received. */
  received: number;
  /** Batches handed to the sink (live and replayed). */
  delivered: number;
  /** Of those, batches that came from a replay. */
  replayedBatches: number;
  /** Messages with the wrong frames, a bad sequence frame or an undecodable payload; skipped. */
  malformed: number;
  /** Events of unknown type inside otherwise valid batches; skipped. */
  unknownEvents: number;
  /** Batches seen again (repeated live sequence, or already delivered by a replay); skipped. */
  duplicates: number;
  /** Sequence gaps detected. */
  gaps: number;
  /** Batches known lost: skipped over by a gap that no replay filled. */
  missed: number;
  /** Publisher restarts detected (sequence went back). */
  restarts: number;
  /** Replays started, succeeded and failed. */
  replays: { started: number; succeeded: number; failed: number };
  /** Held live batches dropped because a replay took too long. */
  heldDropped: number;
}

interface Held {
  readonly topic: string;
  readonly seq: bigint;
  readonly payload: Uint8Array;
}

// Per-publisher sequence state. `next` is the lowest sequence not yet delivered in the current run
// (null: nothing delivered since the last reset), which is all "applied seqs" needs to be: delivery is
// in order, so everything below `next` was delivered or deliberately skipped.
interface PublisherState {
  readonly publisher: string;
  model: string;
  next: bigint | null;
  lastLive: bigint | null;
  replaying: boolean;
  held: Held[];
  failedAt: number | null;
  /** A replay failed: once the cooldown ends, rebuild from the publisher's whole buffer. */
  resync: boolean;
  /** Bumped on restart and retirement, so a replay in flight stops delivering. */
  epoch: number;
  retired: boolean;
  /** Closes the replay socket of the attempt in flight. */
  abort: (() => void) | null;
}

interface ReplayOutcome {
  /** The end marker arrived. */
  readonly ok: boolean;
  /** Batches delivered by the replay. */
  readonly delivered: number;
}

interface Connection {
  readonly socket: Subscriber;
  readonly pod: string;
  readonly loop: Promise<void>;
}

const EMPTY = Buffer.alloc(0);

/**
 * Subscribes to vLLM KV-event publishers and hands their batches, in sequence order per publisher, to a
 * {@link KvEventSink}. See the file comment for the two modes and the replay protocol.
 */
export class KvEventSubscriber {
  readonly #sink: KvEventSink;
  readonly #logger: Logger;
  readonly #topicFilter: string;
  readonly #replayEndpointFor: (publisher: string) => string | null | undefined;
  readonly #replay: ReplayOptions;
  readonly #maxHeld: number;
  readonly #hwm: number;
  readonly #now: () => number;
  readonly #limiter: ConcurrencyLimiter;
  readonly #publishers = new Map<string, PublisherState>();
  readonly #connections = new Map<string, Connection>();
  #central: { socket: Subscriber; loop: Promise<void> } | null = null;
  readonly #replays = new Set<Promise<void>>();
  #closed = false;

  /** Counters for metrics; plain numbers, updated in place. */
  readonly counters: KvEventSubscriberCounters = {
    received: 0,
    delivered: 0,
    replayedBatches: 0,
    malformed: 0,
    unknownEvents: 0,
    duplicates: 0,
    gaps: 0,
    missed: 0,
    restarts: 0,
    replays: { started: 0, succeeded: 0, failed: 0 },
    heldDropped: 0,
  };

  constructor(options: KvEventSubscriberOptions) {
    this.#sink = options.sink;
    this.#logger = options.logger;
    this.#topicFilter = options.topicFilter ?? 'kv@';
    this.#replayEndpointFor = options.replayEndpointFor ?? (() => null);
    this.#replay = { ...DEFAULT_REPLAY_OPTIONS, ...options.replay };
    this.#maxHeld = options.maxHeldPerPublisher ?? 10_000;
    this.#hwm = options.receiveHighWaterMark ?? 100_000;
    this.#now = options.now ?? Date.now;
    this.#limiter = new ConcurrencyLimiter(this.#replay.maxConcurrent);
  }

  /** Publishers with sequence state, for a gauge. */
  get publishers(): number {
    return this.#publishers.size;
  }

  /** Endpoints connected in per-endpoint mode. */
  get endpoints(): string[] {
    return [...this.#connections.keys()];
  }

  /**
   * Centralized mode: binds the SUB socket (created on first use) to `endpoint`, e.g. `tcp://*:5557`,
   * and returns the bound address (the real port for `:*`). Publishers are named by their topic.
   */
  async bind(endpoint: string): Promise<string> {
    this.#assertOpen();
    if (this.#central === null) {
      const socket = this.#newSocket();
      this.#central = { socket, loop: this.#receive(socket, null) };
    }
    await this.#central.socket.bind(endpoint);
    return this.#central.socket.lastEndpoint ?? endpoint;
  }

  /**
   * Per-endpoint mode: connects a SUB socket to one engine's publisher (`tcp://<pod-ip>:5557`). Its
   * batches are attributed to `pod`, the serving endpoint `ip:port` the router addresses, whatever
   * their topic says. A second call for the same endpoint does nothing.
   */
  connect(endpoint: string, pod: string): void {
    this.#assertOpen();
    if (this.#connections.has(endpoint)) return;
    const socket = this.#newSocket();
    socket.connect(endpoint);
    this.#connections.set(endpoint, { socket, pod, loop: this.#receive(socket, pod) });
    this.#logger.info({ endpoint, pod }, 'subscribed to KV events');
  }

  /**
   * Closes the socket of a connected endpoint and forgets its sequence state. Unless `clear` is false,
   * the pod's blocks are then reset in the sink, after its batches already handed over.
   */
  async disconnect(endpoint: string, options: { clear?: boolean } = {}): Promise<void> {
    const connection = this.#connections.get(endpoint);
    if (connection === undefined) return;
    this.#connections.delete(endpoint);
    connection.socket.close();
    await connection.loop;
    this.forgetPublisher(connection.pod, options);
    this.#logger.info({ endpoint, pod: connection.pod }, 'unsubscribed from KV events');
  }

  /**
   * Drops a publisher's sequence state (centralized mode: the pod went away) and, unless `clear` is
   * false, resets its blocks in the sink. A later message from it starts afresh.
   */
  forgetPublisher(publisher: string, options: { clear?: boolean } = {}): void {
    this.#retire(publisher);
    if (options.clear ?? true) this.#sink.reset(publisher);
  }

  /** Resolves once no replay is in flight (at once when none is), including replays those start. */
  async replaysSettled(): Promise<void> {
    while (this.#replays.size > 0) await Promise.all([...this.#replays]);
  }

  /** Closes every socket, ends replays in flight, and waits for the receive loops to end. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#limiter.close();
    const loops: Promise<void>[] = [];
    if (this.#central !== null) {
      this.#central.socket.close();
      loops.push(this.#central.loop);
    }
    for (const connection of this.#connections.values()) {
      connection.socket.close();
      loops.push(connection.loop);
    }
    this.#connections.clear();
    for (const publisher of [...this.#publishers.keys()]) this.#retire(publisher);
    await Promise.all(loops);
    await Promise.all(this.#replays);
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error('KvEventSubscriber is closed');
  }

  #newSocket(): Subscriber {
    const socket = new Subscriber({ linger: 0, receiveHighWaterMark: this.#hwm });
    socket.subscribe(this.#topicFilter);
    return socket;
  }

  #retire(publisher: string): void {
    const state = this.#publishers.get(publisher);
    if (state === undefined) return;
    this.#publishers.delete(publisher);
    state.retired = true;
    state.epoch++;
    state.held = [];
    state.abort?.();
  }

  // One loop per socket; it ends when the socket is closed. Nothing a message contains may end it.
  async #receive(socket: Subscriber, pod: string | null): Promise<void> {
    try {
      for await (const frames of socket) this.#onMessage(frames, pod);
    } catch (err) {
      if (!socket.closed) this.#logger.error({ err, pod }, 'KV event receive loop stopped');
    }
  }

  #onMessage(frames: Buffer[], pod: string | null): void {
    this.counters.received++;
    const live = parseLiveFrames(frames);
    if (live === null) {
      this.counters.malformed++;
      this.#logger.debug({ frames: frames.length, pod }, 'malformed KV event message');
      return;
    }
    const topic = parseKvTopic(live.topic);
    const publisher = pod ?? topic.endpoint;
    let state = this.#publishers.get(publisher);
    if (state === undefined) {
      state = {
        publisher,
        model: topic.model,
        next: null,
        lastLive: null,
        replaying: false,
        held: [],
        failedAt: null,
        resync: false,
        epoch: 0,
        retired: false,
        abort: null,
      };
      this.#publishers.set(publisher, state);
    }
    state.model = topic.model;
    const { seq } = live;
    if (state.lastLive !== null && seq === state.lastLive) {
      this.counters.duplicates++;
      return;
    }
    if (state.lastLive !== null && seq < state.lastLive) {
      // vLLM's counter starts at 0 in every process: the engine restarted and its cache is gone.
      this.counters.restarts++;
      this.#logger.info({ publisher, lastSeq: state.lastLive.toString(), seq: seq.toString() }, 'KV event publisher restarted');
      state.epoch++;
      state.abort?.();
      state.held = [];
      state.resync = false;
      this.#resetPod(state);
    }
    state.lastLive = seq;
    if (state.replaying) {
      this.#hold(state, { topic: live.topic, seq, payload: live.payload });
      return;
    }
    this.#admit(state, live.topic, seq, live.payload);
  }

  #hold(state: PublisherState, held: Held): void {
    state.held.push(held);
    if (state.held.length > this.#maxHeld) {
      state.held.shift();
      this.counters.heldDropped++;
    }
  }

  // Delivers a live batch, or starts the replay that must come before it and holds it.
  #admit(state: PublisherState, topic: string, seq: bigint, payload: Uint8Array): void {
    const held = { topic, seq, payload };
    if (state.next === null) {
      if (seq === 0n || !this.#canReplay(state)) {
        this.#deliver(state, topic, seq, payload, false);
        return;
      }
      // Joined mid-stream (indexer started after the engine, or the first messages were lost to the
      // slow-joiner window): rebuild from the publisher's buffer.
      this.#hold(state, held);
      this.#startReplay(state, 0n, false);
      return;
    }
    if (seq < state.next) {
      this.counters.duplicates++;
      return;
    }
    if (state.resync && this.#canReplay(state)) {
      // Keep serving the live stream until the buffer actually arrives; the pod is reset then.
      this.#hold(state, held);
      this.#startReplay(state, 0n, true);
      return;
    }
    if (seq === state.next) {
      this.#deliver(state, topic, seq, payload, false);
      return;
    }
    this.counters.gaps++;
    if (this.#canReplay(state)) {
      this.#logger.info({ publisher: state.publisher, next: state.next.toString(), seq: seq.toString() }, 'KV event gap, requesting replay');
      this.#hold(state, held);
      this.#startReplay(state, state.next, false);
      return;
    }
    this.counters.missed += Number(seq - state.next);
    this.#deliver(state, topic, seq, payload, false);
  }

  #canReplay(state: PublisherState): boolean {
    if (this.#closed || !this.#replayEndpointFor(state.publisher)) return false;
    return state.failedAt === null || this.#now() - state.failedAt >= this.#replay.cooldownMs;
  }

  #resetPod(state: PublisherState): void {
    state.next = null;
    this.#sink.reset(state.publisher);
  }

  #deliver(state: PublisherState, topic: string | null, seq: bigint, payload: Uint8Array, replayed: boolean): void {
    if (state.retired) return;
    if (state.next !== null && seq < state.next) {
      this.counters.duplicates++;
      return;
    }
    // The sequence is consumed even when the payload is bad, so it cannot open a gap that no replay fills.
    state.next = seq + 1n;
    let batch: KvEventBatch;
    try {
      batch = decodeKvEventBatch(payload, { onUnknownEvent: () => this.counters.unknownEvents++ });
    } catch (err) {
      this.counters.malformed++;
      this.#logger.debug({ err, publisher: state.publisher, seq: seq.toString() }, 'undecodable KV event payload');
      return;
    }
    const model = topic === null ? state.model : parseKvTopic(topic).model;
    this.counters.delivered++;
    if (replayed) this.counters.replayedBatches++;
    this.#sink.push({ publisher: state.publisher, model, seq, batch, replayed });
  }

  #startReplay(state: PublisherState, start: bigint, resetOnData: boolean): void {
    // Runs synchronously up to its first await, so `replaying` is set before this returns.
    const run = this.#runReplay(state, start, resetOnData);
    this.#replays.add(run);
    void run.finally(() => this.#replays.delete(run));
  }

  async #runReplay(state: PublisherState, start: bigint, resetOnData: boolean): Promise<void> {
    state.replaying = true;
    const epoch = state.epoch;
    this.counters.replays.started++;
    let outcome: ReplayOutcome = { ok: false, delivered: 0 };
    try {
      outcome = await this.#replayFrom(state, start, resetOnData, epoch);
    } catch (err) {
      this.#logger.error({ err, publisher: state.publisher }, 'KV event replay crashed');
    } finally {
      state.replaying = false;
    }
    if (state.retired) return;
    if (state.epoch === epoch) {
      if (outcome.ok) {
        this.counters.replays.succeeded++;
        state.failedAt = null;
        state.resync = false;
      } else {
        this.counters.replays.failed++;
        state.failedAt = this.#now();
        state.resync = true;
        // Batches are lost, removals perhaps among them: the pod's entries can no longer be trusted.
        // A resync that never got an answer changed nothing, so what the live stream built stays.
        if (!resetOnData || outcome.delivered > 0) this.#resetPod(state);
      }
    }
    const held = state.held;
    state.held = [];
    for (const h of held) {
      if (state.replaying) this.#hold(state, h);
      else this.#admit(state, h.topic, h.seq, h.payload);
    }
  }

  // Fetches the publisher's buffered batches from `start` on and delivers them; true when the replay
  // reached the end marker. Attempts are retried until the overall deadline or too many fruitless ones.
  async #replayFrom(state: PublisherState, start: bigint, resetOnData: boolean, epoch: number): Promise<ReplayOutcome> {
    let total = 0;
    const endpoint = this.#replayEndpointFor(state.publisher);
    if (!endpoint) return { ok: false, delivered: 0 };
    const { timeoutMs, attemptIdleTimeoutMs, maxAttemptsWithoutProgress, retryBackoffMs } = this.#replay;
    const deadline = this.#now() + timeoutMs;
    const current = () => !this.#closed && state.epoch === epoch;
    if (!(await this.#limiter.acquire(timeoutMs))) return { ok: false, delivered: 0 };
    try {
      let expected = start;
      let fruitless = 0;
      let pendingReset = resetOnData;
      while (current()) {
        const remaining = deadline - this.#now();
        if (remaining <= 0) break;
        const wait = Math.max(1, Math.min(attemptIdleTimeoutMs, remaining));
        const dealer = new Dealer({ linger: 0, receiveTimeout: wait, sendTimeout: wait });
        state.abort = () => dealer.close();
        let progress = 0;
        let complete = false;
        try {
          dealer.connect(endpoint);
          await dealer.send([EMPTY, encodeSeq(expected)]);
          while (current()) {
            const reply = parseReplayFrames(await dealer.receive());
            if (!current()) break;
            if (reply === null) {
              this.counters.malformed++;
              this.#logger.warn({ publisher: state.publisher, endpoint }, 'malformed KV event replay reply');
              return { ok: false, delivered: total + progress };
            }
            if (reply.end) {
              complete = true;
              break;
            }
            if (reply.seq < expected) continue;
            if (reply.seq > expected && progress > 0) break; // a hole inside the reply: ask again from `expected`
            if (pendingReset || reply.seq > expected) {
              // The publisher's buffer no longer reaches back to `expected` (or this replay rebuilds the
              // pod from scratch): what came before is unknowable, so start the pod over from here.
              pendingReset = false;
              this.#resetPod(state);
            }
            this.#deliver(state, reply.topic, reply.seq, reply.payload, true);
            expected = reply.seq + 1n;
            progress++;
          }
        } catch (err) {
          if (current()) this.#logger.debug({ err, publisher: state.publisher, endpoint }, 'KV event replay attempt ended');
        } finally {
          state.abort = null;
          dealer.close();
        }
        total += progress;
        if (complete) {
          if (total === 0 && start > 0n) {
            this.#logger.warn({ publisher: state.publisher, start: start.toString() }, 'KV event replay: requested batches not available');
            return { ok: false, delivered: 0 };
          }
          this.#logger.info({ publisher: state.publisher, start: start.toString(), replayed: total }, 'KV event replay complete');
          return { ok: true, delivered: total };
        }
        fruitless = progress === 0 ? fruitless + 1 : 0;
        if (fruitless >= maxAttemptsWithoutProgress) break;
        if (current() && retryBackoffMs > 0) await new Promise((resolve) => setTimeout(resolve, retryBackoffMs));
      }
      if (current()) this.#logger.warn({ publisher: state.publisher, endpoint, replayed: total }, 'KV event replay failed');
      return { ok: false, delivered: total };
    } finally {
      this.#limiter.release();
    }
  }
}
