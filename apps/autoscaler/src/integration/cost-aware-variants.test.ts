// Several variants of one model: scale-up goes to the cheapest, scale-down to the most expensive,
// against a real Prometheus scraping real simulated servers under generated load.
import { waitUntil } from '@llmd/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClosedLoopLoad } from '../test-support/load.js';
import { SMALL_SERVER_ARGS, startScalingHarness, type ScalingHarness } from '../test-support/harness.js';

const MODEL = 'test/model-b';

describe('cost-aware scaling across variants', () => {
  let h: ScalingHarness;
  let load: ClosedLoopLoad;
  const steps: Array<Record<string, number>> = [];

  beforeAll(async () => {
    h = await startScalingHarness([
      { name: 'pricey', model: MODEL, cost: 20, minReplicas: 0, maxReplicas: 3, replicas: 1, args: SMALL_SERVER_ARGS },
      { name: 'cheap', model: MODEL, cost: 5, minReplicas: 1, maxReplicas: 3, replicas: 1, args: SMALL_SERVER_ARGS },
    ]);
    load = new ClosedLoopLoad({ model: MODEL, targets: () => [...h.runner.running('cheap'), ...h.runner.running('pricey')], promptTokens: 400, maxTokens: 30 });
    await h.waitScraped(MODEL);
  }, 120_000);

  afterAll(async () => {
    await load?.stop();
    await h?.stop();
  }, 60_000);

  async function settledCycle(since: number): Promise<Record<string, number>> {
    await waitUntil(() => Date.now() - since > h.windowMs + 2000, 'a saturation window to pass', 20_000);
    await h.waitScraped(MODEL);
    const out = await h.cycle();
    for (const o of out.values()) expect(o.held, o.reason).toBe(false);
    const step = { cheap: out.get('cheap')?.desiredReplicas as number, pricey: out.get('pricey')?.desiredReplicas as number };
    steps.push(step);
    return step;
  }

  async function runUntilStable(): Promise<void> {
    let last = Date.now();
    let stable = 0;
    for (let i = 0; i < 8 && stable < 2; i++) {
      const before = steps.at(-1);
      const now = await settledCycle(last);
      const same = before !== undefined && before.cheap === now.cheap && before.pricey === now.pricey;
      if (!same) last = Date.now();
      stable = same ? stable + 1 : 0;
    }
  }

  it('adds replicas to the cheapest variant only', async () => {
    steps.push({ cheap: 1, pricey: 1 });
    load.setConcurrency(8);
    await runUntilStable();
    // Every change was +1 on cheap; pricey never grew.
    for (let i = 1; i < steps.length; i++) {
      const a = steps[i - 1] as Record<string, number>;
      const b = steps[i] as Record<string, number>;
      expect(b.pricey).toBe(a.pricey);
      expect([0, 1]).toContain((b.cheap as number) - (a.cheap as number));
    }
    expect(steps.at(-1)).toEqual({ cheap: 2, pricey: 1 });
  }, 240_000);

  it('removes replicas from the most expensive variant first', async () => {
    const from = steps.length - 1;
    load.setConcurrency(2);
    await runUntilStable();
    const fall = steps.slice(from);
    const firstDrop = fall.findIndex((s, i) => i > 0 && ((s.cheap as number) < (fall[i - 1]?.cheap as number) || (s.pricey as number) < (fall[i - 1]?.pricey as number)));
    expect(firstDrop).toBeGreaterThan(0);
    expect(fall[firstDrop]).toEqual({ cheap: 2, pricey: 0 });
    expect(steps.at(-1)).toEqual({ cheap: 1, pricey: 0 });
    expect(h.runner.running('pricey')).toHaveLength(0);
    expect(load.failed).toBe(0);
  }, 240_000);
});
