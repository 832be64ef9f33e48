import { silentLogger } from '@llmd/observability';
import { describe, expect, it } from 'vitest';
import { MemoryCluster, testVariant } from '../test-support/memory-cluster.js';
import { ActuationMetrics } from './metrics.js';
import { ScaleFromZeroEngine } from './scale-from-zero.js';

function setup(queued: Record<string, number | undefined>) {
  const cluster = new MemoryCluster();
  const metrics = new ActuationMetrics();
  const scaled: string[] = [];
  const engine = new ScaleFromZeroEngine({ cluster, reader: { queued: async (m) => queued[m] }, metrics, logger: silentLogger(), onScaled: (v) => scaled.push(v.name) });
  return { cluster, metrics, engine, scaled };
}

const listed = (v: ReturnType<typeof testVariant>) => ({ variant: v, previousDesired: 0, conditions: [] });

describe('ScaleFromZeroEngine', () => {
  it('scales the cheapest variant of a zero-replica model to 1 when the router holds a request', async () => {
    const { cluster, engine, scaled, metrics } = setup({ m: 2 });
    const pricey = testVariant('pricey', { cost: 50, minReplicas: 0 });
    const cheap = testVariant('cheap', { cost: 5, minReplicas: 0 });
    cluster.add(pricey, 0).add(cheap, 0);
    engine.observe([{ listed: listed(pricey), current: 0 }, { listed: listed(cheap), current: 0 }]);
    expect(engine.watching).toBe(1);
    expect((await engine.tick()).map((v) => v.name)).toEqual(['cheap']);
    expect(cluster.scaleCalls).toEqual([{ target: 'cheap', replicas: 1 }]);
    expect(scaled).toEqual(['cheap']);
    expect(cluster.statuses.get('cheap')?.desiredOptimizedAlloc?.numReplicas).toBe(1);
    expect((await metrics.expose()).body).toMatch(/wva_replica_scaling_total\{variant_name="cheap",namespace="ns",direction="up",reason="scale_from_zero"\} 1/);
    // Done: the group is no longer watched.
    expect(await engine.tick()).toEqual([]);
    expect(cluster.scaleCalls).toHaveLength(1);
  });

  it.each<[string, number | undefined]>([
    ['an empty queue', 0],
    ['no router metric', undefined],
  ])('does nothing on %s', async (_what, q) => {
    const { cluster, engine } = setup({ m: q });
    const v = testVariant('v', { minReplicas: 0 });
    cluster.add(v, 0);
    engine.observe([{ listed: listed(v), current: 0 }]);
    expect(await engine.tick()).toEqual([]);
    expect(cluster.scaleCalls).toEqual([]);
  });

  it('leaves alone a model that has replicas, or that someone scaled meanwhile', async () => {
    const { cluster, engine } = setup({ m: 5 });
    const a = testVariant('a', { minReplicas: 0 });
    const b = testVariant('b', { minReplicas: 0 });
    cluster.add(a, 0).add(b, 1);
    engine.observe([{ listed: listed(a), current: 0 }, { listed: listed(b), current: 1 }]);
    expect(engine.watching).toBe(0);
    engine.observe([{ listed: listed(a), current: 0 }, { listed: listed(b), current: 0 }]);
    expect(await engine.tick()).toEqual([]);
    expect(cluster.scaleCalls).toEqual([]);
  });
});
