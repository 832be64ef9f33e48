import { seededRandom } from '@llmd/cli';
import { describe, expect, it } from 'vitest';
import { LatencyModelFit, LineKalman } from './latency-fit.js';

describe('LineKalman', () => {
  it('recovers a line from exact points', () => {
    const k = new LineKalman([0, 0], [100, 10], [0, 0], 0.01);
    for (const x of [1, 4, 8, 16, 1, 4, 8, 16]) k.update(x, 3 + 0.5 * x);
    const [a, b] = k.estimate;
    expect(a).toBeCloseTo(3, 2);
    expect(b).toBeCloseTo(0.5, 3);
  });

  it('ignores non-finite observations', () => {
    const k = new LineKalman([1, 2], [1, 1], [0, 0], 1);
    k.update(NaN, 5);
    k.update(3, Infinity);
    expect(k.estimate).toEqual([1, 2]);
    expect(k.updates).toBe(0);
  });
});

describe('LatencyModelFit', () => {
  it('recovers α, β, γ, δ within 5% from noisy per-replica averages', () => {
    const rand = seededRandom(7);
    const truth = { alpha: 6, beta: 0.25, gamma: 15, delta: 0.004 };
    const fit = new LatencyModelFit();
    for (let cycle = 0; cycle < 20; cycle++) {
      for (const batch of [1, 3, 6, 10, 14]) {
        const n = batch * (1 + 0.05 * (rand() - 0.5));
        const tokens = 200 + 100 * rand();
        fit.observe({
          avgBatch: n,
          itlMs: (truth.alpha + truth.beta * n) * (1 + 0.02 * (rand() - 0.5)),
          prefillMs: (truth.gamma + truth.delta * tokens * n) * (1 + 0.02 * (rand() - 0.5)),
          inputTokens: tokens,
        });
      }
    }
    const p = fit.params;
    expect(Math.abs(p.alpha - truth.alpha) / truth.alpha).toBeLessThan(0.05);
    expect(Math.abs(p.beta - truth.beta) / truth.beta).toBeLessThan(0.05);
    expect(Math.abs(p.gamma - truth.gamma) / truth.gamma).toBeLessThan(0.05);
    expect(Math.abs(p.delta - truth.delta) / truth.delta).toBeLessThan(0.1);
  });

  it('skips idle replicas and starts from configured parameters', () => {
    const fit = new LatencyModelFit({ alpha: 5, beta: 0.1, gamma: 10, delta: 0.01 });
    fit.observe({ avgBatch: 0, itlMs: 0 });
    expect(fit.observations).toBe(0);
    expect(fit.params).toEqual({ alpha: 5, beta: 0.1, gamma: 10, delta: 0.01 });
  });
});
