import { describe, expect, it } from 'vitest';
import { DEFAULT_QUEUEING_CONFIG } from '../config/queueing-config.js';
import type { PerfParams, ReplicaMetrics, Variant, VariantState } from '../model.js';
import { maxArrivalRate, replicasFor, solveQueue, type ServerProfile } from './queueing-model.js';
import { analyzeSlo, LatencyFits } from './slo-analyzer.js';

/**
 * The formulas, written out again without the module under test: the M/M/1/K chain with
 * K = 11·N states whose service rate with n in service is n / (γ + δ·I·n + (O−1)(α + β·n)) per ms;
 * TTFT = mean wait (Little on the queue) + prefill at the mean busy batch; ITL = α + β·(mean busy
 * batch). The largest rate is found by a plain upward scan refined by halving steps.
 */
function reference(p: PerfParams, n: number, inTok: number, outTok: number, ttftTarget: number, itlTarget: number) {
  const mu = (b: number) => b / (p.gamma + p.delta * inTok * b + (outTok - 1) * (p.alpha + p.beta * b));
  const metrics = (ratePerSec: number) => {
    const lam = ratePerSec / 1000;
    const k = 11 * n;
    // Unnormalised probabilities, rescaled whenever they grow large.
    const w: number[] = [1];
    for (let i = 1; i <= k; i++) {
      w.push((w[i - 1] as number) * (lam / mu(Math.min(i, n))));
      if ((w[i] as number) > 1e250) for (let j = 0; j <= i; j++) w[j] = (w[j] as number) / 1e250;
    }
    const z = w.reduce((a, b) => a + b, 0);
    const pr = w.map((x) => x / z);
    let busy = 0;
    let queued = 0;
    for (let i = 1; i <= k; i++) {
      busy += Math.min(i, n) * (pr[i] as number);
      queued += Math.max(0, i - n) * (pr[i] as number);
    }
    const batch = Math.max(1, busy / (1 - (pr[0] as number)));
    const x = lam * (1 - (pr[k] as number));
    const ttft = queued / x + p.gamma + p.delta * inTok * batch;
    const itl = p.alpha + p.beta * batch;
    return ttft <= ttftTarget && itl <= itlTarget;
  };
  const top = mu(n) * 1000;
  let rate = 0;
  let step = top / 64;
  while (step > top * 1e-7) {
    if (rate + step < top && metrics(rate + step)) rate += step;
    else step /= 2;
  }
  return rate;
}

const P1: PerfParams = { alpha: 8, beta: 0.05, gamma: 20, delta: 0.002 };
const P2: PerfParams = { alpha: 5, beta: 0.2, gamma: 10, delta: 0.01 };
const P3: PerfParams = { alpha: 12, beta: 0.02, gamma: 40, delta: 0.0005 };

describe('the queueing model against the formulas computed independently', () => {
  // params, batch, in, out, TTFT target, ITL target, arrival (req/s), minReplicas
  const table: Array<[PerfParams, number, number, number, number, number, number, number]> = [
    [P1, 64, 512, 128, 500, 12, 3, 1],
    [P1, 64, 512, 128, 500, 12, 150, 1],
    [P1, 64, 512, 128, 200, 10, 100, 1],
    [P1, 256, 1024, 256, 1000, 15, 250, 2],
    [P2, 32, 256, 64, 300, 10, 80, 1],
    [P2, 32, 256, 64, 300, 10, 0.5, 3],
    [P2, 128, 2048, 512, 2000, 25, 30, 1],
    [P3, 16, 128, 32, 150, 13, 180, 1],
    [P3, 16, 128, 32, 100, 12.5, 400, 1],
  ];

  it.each(table)('α=%o batch %i, %i→%i tokens, TTFT≤%ims ITL≤%ims at %f req/s (min %i)', (p, n, inTok, outTok, ttft, itl, rate, min) => {
    const profile: ServerProfile = { params: p, maxBatchSize: n, inputTokens: inTok, outputTokens: outTok };
    const expectedRate = reference(p, n, inTok, outTok, ttft, itl);
    const got = maxArrivalRate(profile, { ttftMs: ttft, itlMs: itl });
    expect(expectedRate).toBeGreaterThan(0);
    expect(got).toBeCloseTo(expectedRate, 2);
    expect(Math.abs(got - expectedRate) / expectedRate).toBeLessThan(1e-4);
    const expectedReplicas = Math.max(Math.ceil(rate / expectedRate), min);
    expect(replicasFor(rate, got, min)).toBe(expectedReplicas);
  });

  it('returns 0 when a target is below the idle latency', () => {
    const profile: ServerProfile = { params: P1, maxBatchSize: 64, inputTokens: 512, outputTokens: 128 };
    expect(maxArrivalRate(profile, { ttftMs: 500, itlMs: 8 })).toBe(0);
    expect(replicasFor(5, 0, 1)).toBe(Infinity);
  });

  it('has latencies that grow with the arrival rate, and a batch that approaches the maximum', () => {
    const profile: ServerProfile = { params: P2, maxBatchSize: 32, inputTokens: 256, outputTokens: 64 };
    const low = solveQueue(profile, 1);
    const high = solveQueue(profile, 50);
    expect(high.ttftMs).toBeGreaterThan(low.ttftMs);
    expect(high.itlMs).toBeGreaterThan(low.itlMs);
    expect(low.avgBatch).toBeGreaterThanOrEqual(1);
    expect(high.avgBatch).toBeLessThanOrEqual(32);
    expect(high.throughput).toBeLessThanOrEqual(50);
  });
});

describe('analyzeSlo', () => {
  const v = (name: string, cost: number, perfParams?: PerfParams, over: Partial<Variant> = {}): Variant => ({
    name, namespace: 'ns', modelID: 'm', target: { apiVersion: 'apps/v1', kind: 'Deployment', name }, cost, accelerator: name, acceleratorCount: 1, minReplicas: 1, maxReplicas: 20, perfParams, maxBatchSize: 64, ...over,
  });
  const s = (x: Variant, current = 1): VariantState => ({ variant: x, currentReplicas: current, readyReplicas: current, previousDesired: null });
  const load = (variant: string, arrivalRate: number): ReplicaMetrics => ({ pod: `${variant}-0`, variant, kvUsage: 0.2, queueLength: 0, arrivalRate, avgInputTokens: 512, avgOutputTokens: 128 });
  const config = { ...DEFAULT_QUEUEING_CONFIG, tuningEnabled: false, targetTTFT: 500, targetITL: 12 };

  it('sizes each variant and gives the load to the cheapest, the others their minimum', () => {
    const fast: PerfParams = { alpha: 4, beta: 0.02, gamma: 10, delta: 0.001 };
    const slow = P1;
    const states = [s(v('h100', 40, fast)), s(v('a100', 15, slow, { minReplicas: 0 }))];
    const a = analyzeSlo(states, [load('h100', 20), load('a100', 10)], config, new LatencyFits());
    expect(a.arrivalRate).toBe(30);
    const h = a.sizings.find((z) => z.variant === 'h100');
    const l = a.sizings.find((z) => z.variant === 'a100');
    const refH = reference(fast, 64, 512, 128, 500, 12);
    const refL = reference(slow, 64, 512, 128, 500, 12);
    expect(h?.replicas).toBe(Math.ceil(30 / refH));
    expect(l?.replicas).toBe(Math.ceil(30 / refL));
    const cheaper = (h?.replicas as number) * 40 < (l?.replicas as number) * 15 ? 'h100' : 'a100';
    expect(a.chosen).toBe(cheaper);
    const other = cheaper === 'h100' ? 'a100' : 'h100';
    expect(a.targets.get(other)?.target).toBe(other === 'a100' ? 0 : 1);
  });

  it('infers targets from idle latency × sloMultiplier when none are given', () => {
    const a = analyzeSlo([s(v('x', 10, P2))], [load('x', 5)], { ...DEFAULT_QUEUEING_CONFIG, tuningEnabled: false }, new LatencyFits());
    const z = a.sizings[0];
    expect(z?.targets?.itlMs).toBeCloseTo(3 * (P2.alpha + P2.beta), 10);
    expect(z?.targets?.ttftMs).toBeCloseTo(3 * (P2.gamma + P2.delta * 512), 10);
  });

  it('reports a problem instead of guessing when no variant has parameters', () => {
    const a = analyzeSlo([s(v('x', 10))], [load('x', 5)], { ...DEFAULT_QUEUEING_CONFIG, tuningEnabled: false }, new LatencyFits());
    expect(a.problem).toContain('no latency-model parameters');
    expect(a.targets.get('x')?.target).toBe(1);
  });
});
