// The SLO analyzer's online fit against simulated servers whose step time is known exactly:
// the simulator's linear latency model makes a decode step with n requests last β0 + β2·n, so the
// inter-token latency is ITL = α + β·n with α = β0 and β = β2.
import { waitUntil } from '@llmd/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClosedLoopLoad } from '../test-support/load.js';
import { NS, startScalingHarness, type ScalingHarness } from '../test-support/harness.js';

const MODEL = 'test/model-fit';
const ALPHA_MS = 20;
const BETA_MS = 2;
// β0, β1 (per prefill token) and β2 (per decode token), in µs.
const LINEAR = `${ALPHA_MS * 1000},10,${BETA_MS * 1000}`;
const CONCURRENCY = [1, 4, 8, 12];

describe('online fit of the latency model', () => {
  let h: ScalingHarness;
  const loads: ClosedLoopLoad[] = [];

  beforeAll(async () => {
    h = await startScalingHarness(
      [{ name: 'fit', model: MODEL, cost: 10, minReplicas: 4, maxReplicas: 4, replicas: 4, args: ['--preset', 'qwen3-0.6b/h100', '--latency-calculator', 'linear', '--linear-coefficients', LINEAR] }],
      { windowSeconds: 5, configMaps: { 'wva-queueing-model-config': { default: 'tuningEnabled: true\ntargetTTFT: 5000\ntargetITL: 200\nmaxBatchSize: 64' } } },
    );
    // One closed loop per replica, each at its own concurrency: four batch sizes at once.
    const pods = h.runner.running('fit');
    pods.forEach((pod, i) => {
      const load = new ClosedLoopLoad({ model: MODEL, targets: () => [pod], promptTokens: 32, maxTokens: 100 });
      load.setConcurrency(CONCURRENCY[i] as number);
      loads.push(load);
    });
    await h.waitScraped(MODEL);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(loads.map((l) => l.stop()));
    await h?.stop();
  }, 60_000);

  it('recovers α and β within 10% from what Prometheus saw', async () => {
    // Each cycle needs a full arrival window of steady load behind it.
    const windowMs = 10_000;
    let last = Date.now();
    for (let cycle = 0; cycle < 5; cycle++) {
      await waitUntil(() => Date.now() - last > windowMs + 1500, 'an arrival window of steady load', 20_000);
      await waitUntil(async () => (await h.prometheus.query(`vllm:inter_token_latency_seconds_count{namespace="${NS}",model_name="${MODEL}"}`)).length === 4, 'latency histograms of every replica', 12_000);
      last = Date.now();
      const out = (await h.cycle()).get('fit');
      expect(out?.held, out?.reason).toBe(false);
    }
    const fit = h.controller.latencyFit(NS, 'fit');
    expect(fit?.observations).toBeGreaterThanOrEqual(12);
    const { alpha, beta } = fit?.params ?? { alpha: NaN, beta: NaN };
    expect(Math.abs(alpha - ALPHA_MS) / ALPHA_MS, `α = ${alpha}`).toBeLessThan(0.1);
    expect(Math.abs(beta - BETA_MS) / BETA_MS, `β = ${beta}`).toBeLessThan(0.1);
    expect(loads.every((l) => l.failed === 0)).toBe(true);
  }, 240_000);
});
