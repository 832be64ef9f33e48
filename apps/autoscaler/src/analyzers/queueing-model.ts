// The queueing model of one replica (upstream's "Inferno" design): a state-dependent M/M/1/K
// birth–death queue whose service rate follows a batch-size latency model. Times in milliseconds.
import type { PerfParams } from '../model.js';

/** Waiting room of the queue, as a multiple of the batch size (upstream's MaxQueueToBatchRatio). */
export const MAX_QUEUE_TO_BATCH_RATIO = 10;

/** One replica's serving profile. */
export interface ServerProfile {
  readonly params: PerfParams;
  /** Most requests in a batch (vLLM `--max-num-seqs`). */
  readonly maxBatchSize: number;
  /** Average prompt and generated tokens per request. */
  readonly inputTokens: number;
  readonly outputTokens: number;
}

/** Inter-token latency at batch size n: `α + β·n`. */
export function itlMs(p: PerfParams, n: number): number {
  return p.alpha + p.beta * n;
}

/** Prefill time at batch size n: `γ + δ·tokens·n`. */
export function prefillMs(p: PerfParams, inputTokens: number, n: number): number {
  return p.gamma + p.delta * inputTokens * n;
}

/** Service rate with n requests in the batch, in requests per millisecond: `n / (prefill(n) + (out−1)·ITL(n))`. */
export function serviceRatePerMs(s: ServerProfile, n: number): number {
  return n / (prefillMs(s.params, s.inputTokens, n) + Math.max(0, s.outputTokens - 1) * itlMs(s.params, n));
}

/** Steady state of the queue at one arrival rate. */
export interface QueueState {
  /** Requests per second offered. */
  readonly arrivalRate: number;
  /** Requests per second admitted (arrivals not blocked by a full queue). */
  readonly throughput: number;
  /** Probability that the queue is full and an arrival is turned away. */
  readonly blocking: number;
  /** Mean requests in service when the server is busy. */
  readonly avgBatch: number;
  /** Mean time spent waiting before service, ms. */
  readonly waitMs: number;
  /** Mean time to first token: wait + prefill at the mean batch, ms. */
  readonly ttftMs: number;
  /** Mean inter-token latency at the mean batch, ms. */
  readonly itlMs: number;
}

/**
 * Solves the birth–death chain for `arrivalRate` requests per second. States k = 0…K with
 * K = N·(1 + MAX_QUEUE_TO_BATCH_RATIO); in state k, min(k, N) requests are served at
 * μ(min(k, N)). Probabilities are computed in log space so large K never overflows.
 */
export function solveQueue(s: ServerProfile, arrivalRate: number): QueueState {
  const n = s.maxBatchSize;
  const k = n * (1 + MAX_QUEUE_TO_BATCH_RATIO);
  const lambda = arrivalRate / 1000;
  const logW = new Float64Array(k + 1);
  const logLambda = Math.log(lambda);
  let max = 0;
  for (let i = 1; i <= k; i++) {
    logW[i] = (logW[i - 1] as number) + logLambda - Math.log(serviceRatePerMs(s, Math.min(i, n)));
    if ((logW[i] as number) > max) max = logW[i] as number;
  }
  let total = 0;
  for (let i = 0; i <= k; i++) total += Math.exp((logW[i] as number) - max);
  let inService = 0;
  let queued = 0;
  for (let i = 1; i <= k; i++) {
    const p = Math.exp((logW[i] as number) - max) / total;
    inService += Math.min(i, n) * p;
    if (i > n) queued += (i - n) * p;
  }
  const p0 = Math.exp((logW[0] as number) - max) / total;
  const blocking = Math.exp((logW[k] as number) - max) / total;
  const throughputPerMs = lambda * (1 - blocking);
  const avgBatch = p0 < 1 ? Math.max(1, inService / (1 - p0)) : 1;
  const waitMs = throughputPerMs > 0 ? queued / throughputPerMs : 0;
  return {
    arrivalRate,
    throughput: throughputPerMs * 1000,
    blocking,
    avgBatch,
    waitMs,
    ttftMs: waitMs + prefillMs(s.params, s.inputTokens, avgBatch),
    itlMs: itlMs(s.params, avgBatch),
  };
}

/** Latency targets of the search, ms. */
export interface LatencyTargets {
  readonly ttftMs: number;
  readonly itlMs: number;
}

/** Whether the queue at `state` meets both targets. */
export function meetsTargets(state: QueueState, t: LatencyTargets): boolean {
  return state.ttftMs <= t.ttftMs && state.itlMs <= t.itlMs;
}

/**
 * The largest arrival rate (requests per second) one replica takes while meeting both targets,
 * found by bisection between 0 and the full-batch service rate (latencies grow with the rate).
 * Returns 0 when even a trickle of requests misses a target.
 */
export function maxArrivalRate(s: ServerProfile, t: LatencyTargets, relTolerance = 1e-6): number {
  const upper = serviceRatePerMs(s, s.maxBatchSize) * 1000;
  let lo = 0;
  let hi = upper;
  if (!meetsTargets(solveQueue(s, upper * 1e-9), t)) return 0;
  if (meetsTargets(solveQueue(s, hi), t)) return hi;
  while (hi - lo > relTolerance * upper) {
    const mid = (lo + hi) / 2;
    if (meetsTargets(solveQueue(s, mid), t)) lo = mid;
    else hi = mid;
  }
  return lo;
}

/** Replicas for `arrivalRate` (req/s) when one replica takes at most `perReplicaRate`: `max(⌈rate / that⌉, minReplicas)`. */
export function replicasFor(arrivalRate: number, perReplicaRate: number, minReplicas: number): number {
  if (arrivalRate <= 0) return minReplicas;
  if (!(perReplicaRate > 0)) return Infinity;
  return Math.max(Math.ceil(arrivalRate / perReplicaRate - 1e-9), minReplicas);
}

/** Latency at idle (batch of one), the base of inferred targets. */
export function idleLatency(s: ServerProfile): LatencyTargets {
  return { ttftMs: prefillMs(s.params, s.inputTokens, 1), itlMs: itlMs(s.params, 1) };
}
