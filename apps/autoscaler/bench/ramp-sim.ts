// A virtual-time replay of a load ramp against simulated model servers: the simulator's own engine
// model (apps/inference-sim, built) runs each replica on one shared manual clock, a router sends each
// request to the replica with the fewest requests in flight (or holds it while none is ready), and a
// scaling policy decides the replicas. Nothing waits on the wall clock, so half an hour of traffic
// replays in seconds, and every policy sees exactly the same arrivals.
import type { DirectScrapeSource } from '../dist/local/direct-source.js';
import { seededRandom } from '@llmd/cli';

// --- The engine model, loaded from the built simulator (apps never import each other's source). ---

/** The parts of the simulator's engine API this replay uses. */
export interface EngineModule {
  ManualClock: new (startMs?: number) => ManualClockLike;
  Engine: new (options: object, deps: object) => EngineLike;
  defaultEngineOptions(preset?: string): Record<string, unknown>;
}
interface ManualClockLike {
  now(): number;
  setTimer(fn: () => void, delayMs: number): unknown;
  clearTimer(handle: unknown): void;
  advance(ms: number): void;
}
interface EngineLike {
  submit(req: object, observer: { onTokens(count: number, atMs: number): void; onFinished(r: Outcome): void }): { ok: boolean; reason?: string };
  snapshot(): { running: number; waiting: number; kvUsage: number; numGpuBlocks: number; blockSize: number };
  close(): void;
}
interface Outcome {
  reason: 'done' | 'aborted';
  promptTokens: number;
  outputTokens: number;
  arrivalMs: number;
  scheduledMs: number | null;
  firstTokenMs: number | null;
  finishedMs: number;
}

/** Loads the engine from `apps/inference-sim/dist` (run `nx build inference-sim` first). */
export async function loadEngineModule(): Promise<EngineModule> {
  const url = new URL('../../inference-sim/dist/engine/index.js', import.meta.url);
  return (await import(url.href)) as EngineModule;
}

/** A cheap block hasher: the replay needs distinct block identities, not vLLM's digests. */
const hasher = {
  hashBlock(parent: Uint8Array | null, tokens: ArrayLike<number>, _extra: readonly unknown[] | null): Uint8Array {
    const p = parent ? new DataView(parent.buffer, parent.byteOffset, 8) : null;
    let h1 = 0x811c9dc5 ^ (p ? p.getUint32(0) : 0);
    let h2 = 0x01000193 ^ (p ? p.getUint32(4) : 0);
    for (let i = 0; i < tokens.length; i++) {
      h1 = Math.imul(h1 ^ (tokens[i] as number), 0x01000193);
      h2 = Math.imul(h2 + (tokens[i] as number), 0x5bd1e995) ^ (h2 >>> 13);
    }
    const out = new Uint8Array(8);
    new DataView(out.buffer).setUint32(0, h1 >>> 0);
    new DataView(out.buffer).setUint32(4, h2 >>> 0);
    return out;
  },
  eventHash(digest: Uint8Array): bigint {
    return new DataView(digest.buffer, digest.byteOffset, 8).getBigUint64(0);
  },
};
// The replay has no KV-event consumer: events are dropped.
const drop = () => undefined;
const noEvents = { blockStored: drop, blockRemoved: drop, allBlocksCleared: drop };

// --- Load. ---

/** A piecewise-linear rate profile: (time s, requests/s) points. */
export type RateProfile = ReadonlyArray<readonly [number, number]>;

/** The rate at time `t` seconds. */
export function rateAt(profile: RateProfile, t: number): number {
  for (let i = 1; i < profile.length; i++) {
    const [t0, r0] = profile[i - 1] as readonly [number, number];
    const [t1, r1] = profile[i] as readonly [number, number];
    if (t <= t1) return t1 === t0 ? r1 : r0 + ((r1 - r0) * (t - t0)) / (t1 - t0);
  }
  return (profile.at(-1) as readonly [number, number])[1];
}

/** One request of the trace. */
export interface TraceRequest {
  readonly atMs: number;
  readonly promptTokens: number;
  readonly outputTokens: number;
}

/** Poisson arrivals following the profile (thinning), with uniform prompt and output lengths. */
export function makeTrace(profile: RateProfile, durationS: number, seed: number, prompt: [number, number], output: [number, number]): TraceRequest[] {
  const rand = seededRandom(seed);
  const peak = Math.max(...profile.map(([, r]) => r));
  const out: TraceRequest[] = [];
  let t = 0;
  for (;;) {
    t += -Math.log(1 - rand()) / peak;
    if (t >= durationS) break;
    if (rand() * peak > rateAt(profile, t)) continue;
    out.push({
      atMs: t * 1000,
      promptTokens: prompt[0] + Math.floor(rand() * (prompt[1] - prompt[0] + 1)),
      outputTokens: output[0] + Math.floor(rand() * (output[1] - output[0] + 1)),
    });
  }
  return out;
}

// --- The simulated cluster. ---

/** One replica: an engine that takes requests once its cold start is over. */
export interface Replica {
  readonly pod: string;
  readonly engine: EngineLike;
  readonly startedMs: number;
  readonly readyMs: number;
  stoppingMs: number | null;
  endedMs: number | null;
  inFlight: number;
  // Counters the metrics exposition mirrors.
  success: number;
  promptSum: number;
  genSum: number;
  itlSum: number;
  itlCount: number;
  prefillSum: number;
  ttftSum: number;
}

/** Cluster settings. */
export interface ClusterOptions {
  readonly model: string;
  /** Engine options (the simulator's defaults for a preset, adjusted). */
  readonly engineOptions: Record<string, unknown>;
  /** Time from a replica's start until it takes requests (model load), ms. */
  readonly coldStartMs: number;
}

/** What one request experienced. */
export interface RequestResult {
  readonly arrivalMs: number;
  /** Arrival to first token, including time held in the router, ms; null when rejected. */
  readonly ttftMs: number | null;
}

/** The replicas, the router in front of them, and the bookkeeping of replica-seconds and TTFTs. */
export class SimCluster {
  readonly clock: ManualClockLike;
  readonly #mod: EngineModule;
  readonly #o: ClusterOptions;
  readonly replicas: Replica[] = [];
  readonly results: RequestResult[] = [];
  /** Requests held by the router while no replica is ready (its flow-control queue). */
  readonly held: Array<{ req: TraceRequest; id: number }> = [];
  #serial = 0;
  #pods = 0;

  constructor(mod: EngineModule, options: ClusterOptions) {
    this.#mod = mod;
    this.#o = options;
    this.clock = new mod.ManualClock(0);
  }

  /** Replicas that are neither stopping nor stopped. */
  live(): Replica[] {
    return this.replicas.filter((r) => r.stoppingMs === null);
  }

  /** Live replicas past their cold start. */
  ready(): Replica[] {
    const now = this.clock.now();
    return this.replicas.filter((r) => r.stoppingMs === null && r.readyMs <= now);
  }

  /** Starts replicas or stops the newest ones until `n` are live. `warm` skips the cold start (a deployment sized in advance). */
  scaleTo(n: number, warm = false): void {
    const now = this.clock.now();
    while (this.live().length < n) {
      const engine = new this.#mod.Engine(this.#o.engineOptions, { clock: this.clock, hasher, events: noEvents, random: seededRandom(this.#pods + 1) });
      this.replicas.push({
        pod: `variant-bench-${this.#pods++}`,
        engine,
        startedMs: now,
        readyMs: warm ? now : now + this.#o.coldStartMs,
        stoppingMs: null,
        endedMs: null,
        inFlight: 0,
        success: 0,
        promptSum: 0,
        genSum: 0,
        itlSum: 0,
        itlCount: 0,
        prefillSum: 0,
        ttftSum: 0,
      });
    }
    const live = this.live();
    // Stop the newest (a starting replica first): it has the least work in flight.
    for (let i = live.length - 1; i >= n; i--) this.#stop(live[i] as Replica);
  }

  #stop(r: Replica): void {
    r.stoppingMs = this.clock.now();
    if (r.inFlight === 0) this.#end(r);
  }

  #end(r: Replica): void {
    r.endedMs = this.clock.now();
    r.engine.close();
  }

  /** A request arrives at the router now. */
  arrive(req: TraceRequest): void {
    const id = this.#serial++;
    const target = this.#pick();
    if (!target) this.held.push({ req, id });
    else this.#send(target, req, id);
  }

  /** Sends requests the router held to replicas that became ready. */
  drainHeld(): void {
    while (this.held.length > 0) {
      const target = this.#pick();
      if (!target) return;
      const { req, id } = this.held.shift() as { req: TraceRequest; id: number };
      this.#send(target, req, id);
    }
  }

  #pick(): Replica | undefined {
    let best: Replica | undefined;
    const now = this.clock.now();
    for (const r of this.replicas) {
      if (r.stoppingMs !== null || r.readyMs > now) continue;
      if (!best || r.inFlight < best.inFlight) best = r;
    }
    return best;
  }

  #send(r: Replica, req: TraceRequest, id: number): void {
    // Distinct prompts: a leading id makes every block unique (no prefix sharing between requests).
    const prompt = new Array<number>(req.promptTokens);
    for (let i = 0; i < prompt.length; i++) prompt[i] = i < 4 ? (id * 4 + i) % 100_000 : 1000 + (i % 1000);
    const output = new Array<number>(req.outputTokens).fill(7);
    r.inFlight++;
    let lastToken = -1;
    const res = r.engine.submit(
      { id: String(id), promptTokenIds: prompt, outputTokenIds: output, loraName: null, cacheSalt: null, priority: 0, pd: null },
      {
        onTokens: (count, atMs) => {
          if (lastToken >= 0) {
            r.itlSum += (atMs - lastToken) / 1000;
            r.itlCount += count;
          }
          lastToken = atMs;
        },
        onFinished: (o) => {
          r.inFlight--;
          if (o.reason === 'done' && o.firstTokenMs !== null) {
            r.success++;
            r.promptSum += o.promptTokens;
            r.genSum += o.outputTokens;
            r.ttftSum += (o.firstTokenMs - o.arrivalMs) / 1000;
            if (o.scheduledMs !== null) r.prefillSum += (o.firstTokenMs - o.scheduledMs) / 1000;
            this.results.push({ arrivalMs: req.atMs, ttftMs: o.firstTokenMs - req.atMs });
          } else this.results.push({ arrivalMs: req.atMs, ttftMs: null });
          if (r.stoppingMs !== null && r.inFlight === 0 && r.endedMs === null) this.#end(r);
        },
      },
    );
    if (!res.ok) {
      r.inFlight--;
      this.results.push({ arrivalMs: req.atMs, ttftMs: null });
    }
  }

  /** A vLLM-style exposition of one replica, for the autoscaler's metrics source. */
  exposition(r: Replica): string {
    const s = r.engine.snapshot();
    const m = `model_name="${this.#o.model}"`;
    return [
      `vllm:kv_cache_usage_perc{${m}} ${s.kvUsage}`,
      `vllm:num_requests_waiting{${m}} ${s.waiting}`,
      `vllm:num_requests_running{${m}} ${s.running}`,
      `vllm:cache_config_info{block_size="${s.blockSize}",num_gpu_blocks="${s.numGpuBlocks}",${m}} 1`,
      `vllm:request_success_total{${m},finish_reason="length"} ${r.success}`,
      `vllm:request_prompt_tokens_sum{${m}} ${r.promptSum}`,
      `vllm:request_prompt_tokens_count{${m}} ${r.success}`,
      `vllm:request_generation_tokens_sum{${m}} ${r.genSum}`,
      `vllm:request_generation_tokens_count{${m}} ${r.success}`,
      `vllm:inter_token_latency_seconds_sum{${m}} ${r.itlSum}`,
      `vllm:inter_token_latency_seconds_count{${m}} ${r.itlCount}`,
      `vllm:request_prefill_time_seconds_sum{${m}} ${r.prefillSum}`,
      `vllm:request_prefill_time_seconds_count{${m}} ${r.success}`,
      `vllm:time_to_first_token_seconds_sum{${m}} ${r.ttftSum}`,
      `vllm:time_to_first_token_seconds_count{${m}} ${r.success}`,
      '',
    ].join('\n');
  }

  /** Feeds every ready replica's exposition to a metrics source (one Prometheus scrape). */
  scrapeInto(source: DirectScrapeSource): void {
    for (const r of this.ready()) source.record(r.pod, this.exposition(r));
  }

  /** Replica-seconds spent up to `endMs` (from each start, cold start included, to its end). */
  replicaSeconds(endMs: number): number {
    return this.replicas.reduce((sum, r) => sum + ((r.endedMs ?? endMs) - r.startedMs) / 1000, 0);
  }
}
