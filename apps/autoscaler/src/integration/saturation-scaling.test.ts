// The saturation analyzer end to end: a real Prometheus scrapes real simulated servers under
// generated load; the controller scales them through the local runner (direct actuation).
import { waitUntil } from '@llmd/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClosedLoopLoad } from '../test-support/load.js';
import { elapse, NS, SMALL_SERVER_ARGS, startScalingHarness, type ScalingHarness } from '../test-support/harness.js';

const MODEL = 'test/model-a';

describe('saturation scaling of one variant', () => {
  let h: ScalingHarness;
  let load: ClosedLoopLoad;
  const history: number[] = [];

  beforeAll(async () => {
    h = await startScalingHarness([{ name: 'model-a', model: MODEL, cost: 10, minReplicas: 1, maxReplicas: 5, replicas: 1, args: SMALL_SERVER_ARGS }]);
    load = new ClosedLoopLoad({ model: MODEL, targets: () => h.runner.running('model-a'), promptTokens: 400, maxTokens: 30 });
    await h.waitScraped(MODEL);
  }, 120_000);

  afterAll(async () => {
    await load?.stop();
    await h?.stop();
  }, 60_000);

  /** Waits until the new replicas are scraped and a whole saturation window has passed since the last change, then runs a cycle. */
  async function settledCycle(sinceChange: number): Promise<number> {
    await waitUntil(() => Date.now() - sinceChange > h.windowMs + 2000, 'a saturation window to pass', 20_000);
    await h.waitScraped(MODEL);
    const out = (await h.cycle()).get('model-a');
    expect(out?.held, out?.reason).toBe(false);
    history.push(out?.desiredReplicas as number);
    return out?.desiredReplicas as number;
  }

  it('keeps one replica while idle, with conditions that say why', async () => {
    const out = (await h.cycle()).get('model-a');
    expect(out?.desiredReplicas).toBe(1);
    const types = Object.fromEntries((out?.conditions ?? []).map((c) => [c.type, `${c.status}/${c.reason}`]));
    expect(types).toEqual({ TargetResolved: 'True/TargetFound', MetricsAvailable: 'True/MetricsFound', OptimizationReady: 'True/OptimizationSucceeded' });
    history.push(1);
  });

  it('raises desired replicas within two intervals of the load showing in Prometheus', async () => {
    load.setConcurrency(9);
    await waitUntil(async () => {
      const q = await h.prometheus.query(`max(max_over_time(vllm:num_requests_waiting{namespace="${NS}",model_name="${MODEL}"}[${h.windows.saturation}]))`);
      return (q[0]?.value ?? 0) >= 3;
    }, 'the queue to show in Prometheus', 12_000);
    let cycles = 0;
    let desired = 1;
    while (desired === 1 && cycles < 2) {
      cycles++;
      desired = ((await h.cycle()).get('model-a')?.desiredReplicas) as number;
      if (desired === 1) await elapse(1000);
    }
    expect(desired).toBe(2);
    expect(cycles).toBeLessThanOrEqual(2);
    history.push(2);
  }, 60_000);

  it('keeps adding one replica at a time until the load fits, and stops there', async () => {
    let lastChange = Date.now();
    let stableCycles = 0;
    for (let i = 0; i < 8 && stableCycles < 2; i++) {
      const before = history.at(-1) as number;
      const desired = await settledCycle(lastChange);
      if (desired !== before) lastChange = Date.now();
      stableCycles = desired === before ? stableCycles + 1 : 0;
    }
    // 9 clients: one replica runs 4 and fills its KV cache to 0.75 (> 0.8 − 0.1); three replicas run 3 each.
    expect(history.at(-1)).toBe(3);
    for (let i = 1; i < history.length; i++) expect((history[i] as number) - (history[i - 1] as number)).toBeGreaterThanOrEqual(0);
    for (let i = 1; i < history.length; i++) expect((history[i] as number) - (history[i - 1] as number)).toBeLessThanOrEqual(1);
    expect(h.runner.running('model-a')).toHaveLength(3);
  }, 240_000);

  it('lowers them one step at a time when the load falls, never below what the load needs', async () => {
    const start = history.length;
    load.setConcurrency(5);
    let lastChange = Date.now();
    let stableCycles = 0;
    for (let i = 0; i < 8 && stableCycles < 2; i++) {
      const before = history.at(-1) as number;
      const desired = await settledCycle(lastChange);
      if (desired !== before) lastChange = Date.now();
      stableCycles = desired === before ? stableCycles + 1 : 0;
    }
    const fall = history.slice(start - 1);
    for (let i = 1; i < fall.length; i++) expect([0, -1]).toContain((fall[i] as number) - (fall[i - 1] as number));
    // 5 clients need two replicas: on one, 4 run (KV 0.75) and one waits, which calls for scale-up.
    expect(history.at(-1)).toBe(2);
    expect(Math.min(...fall)).toBe(2);
    expect(load.failed).toBe(0);
  }, 240_000);
});
