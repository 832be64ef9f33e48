// A ManualClock-driven engine with recording collaborators, for the engine tests.
import { ManualClock, type Clock } from '../clock.js';
import type { EngineRequest, RequestOutcome, SubmitResult } from '../contracts.js';
import { Engine } from '../engine.js';
import type { StepComposition } from '../latency.js';
import type { EngineOptions } from '../options.js';
import { RecordingObserver, RecordingSink, jsonHasher, must } from './fakes.js';

/** One step as the engine reported it. */
export interface RecordedStep extends Required<StepComposition> {
  start: number;
  duration: number;
}

/**
 * Small-engine defaults: blocks of 4 tokens, 64 usable blocks, a 64-token budget and a linear
 * model of 1 ms per step plus 1 ms per token, so every timeline in a test is integer arithmetic.
 */
export function testOptions(patch: Partial<EngineOptions> = {}): EngineOptions {
  return {
    maxNumSeqs: 8,
    maxNumBatchedTokens: 64,
    maxModelLen: 10_000,
    maxWaitingQueueLength: 100,
    blockSize: 4,
    numGpuBlocks: 65,
    maxLoras: 2,
    schedulingPolicy: 'fcfs',
    latency: { model: 'linear', linearCoefficientsUs: [1000, 1000, 1000] },
    kvTransfer: { kvCacheTransferLatencyMs: 50 },
    ...patch,
  };
}

/** An engine on a ManualClock, with its recorders. */
export class Harness {
  readonly clock = new ManualClock();
  readonly sink = new RecordingSink();
  readonly steps: RecordedStep[] = [];
  readonly engine: Engine;
  readonly observers = new Map<string, RecordingObserver>();

  /** `wrapClock` lets a test hand the engine a clock built on the manual one (e.g. with late timers). */
  constructor(patch: Partial<EngineOptions> = {}, deps: { random?: () => number; wrapClock?: (manual: ManualClock) => Clock } = {}) {
    this.engine = new Engine(testOptions(patch), {
      clock: deps.wrapClock ? deps.wrapClock(this.clock) : this.clock,
      hasher: jsonHasher,
      events: this.sink,
      ...(deps.random ? { random: deps.random } : {}),
      onStep: (c, start, duration) => this.steps.push({ prefillAttentionPairs: 0, ...c, start, duration }),
    });
  }

  /** Submits and remembers the observer under the request id. */
  submit(req: EngineRequest): { result: SubmitResult; obs: RecordingObserver } {
    const obs = new RecordingObserver();
    this.observers.set(req.id, obs);
    return { result: this.engine.submit(req, obs), obs };
  }

  /** Submits and expects acceptance. */
  add(req: EngineRequest): RecordingObserver {
    const { result, obs } = this.submit(req);
    if (!result.ok) throw new Error(`request ${req.id} refused: ${result.reason}`);
    return obs;
  }

  /** The observer of a request. */
  obs(id: string): RecordingObserver {
    const o = this.observers.get(id);
    if (!o) throw new Error(`no request ${id}`);
    return o;
  }

  /** The outcome of a finished request (fails the test if it has not finished). */
  done(id: string): RequestOutcome {
    return must(this.obs(id).outcome, `outcome of ${id}`);
  }

  /** Moves the clock to an absolute time. */
  at(ms: number): this {
    this.clock.advance(ms - this.clock.now());
    return this;
  }

  /** Runs the timeline until the engine has no timer left. */
  drain(limitMs = 1_000_000): this {
    if (!this.clock.runUntilIdle(limitMs)) throw new Error('engine still busy after the limit');
    return this;
  }
}
