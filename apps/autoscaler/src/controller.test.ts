import { parsePrometheusText } from '@llmd/model-server';
import { silentLogger } from '@llmd/observability';
import { describe, expect, it } from 'vitest';
import { ActuationMetrics } from './actuation/metrics.js';
import { Controller, type ControllerOptions } from './controller.js';
import type { ReplicaMetrics } from './model.js';
import { MemoryCluster, MemoryMetrics, testVariant } from './test-support/memory-cluster.js';

const base: ControllerOptions = { configNamespace: 'sys', scaleToZeroDefault: false, limitedMode: false, acceleratorCapacity: new Map(), actuation: 'metrics' };
const hot = (pod: string, variant: string): ReplicaMetrics => ({ pod, variant, kvUsage: 0.79, queueLength: 4 });
const cold = (pod: string, variant: string): ReplicaMetrics => ({ pod, variant, kvUsage: 0, queueLength: 0 });

function setup(options: Partial<ControllerOptions> = {}, clock?: { t: number }) {
  const cluster = new MemoryCluster();
  const source = new MemoryMetrics();
  const metrics = new ActuationMetrics();
  const controller = new Controller({ cluster, metricsSource: source, metrics, logger: silentLogger(), now: clock ? () => new Date(clock.t) : undefined }, { ...base, ...options });
  return { cluster, source, metrics, controller };
}

const cond = (c: { conditions: readonly { type: string; status: string; reason: string }[] } | undefined, type: string) => {
  const x = c?.conditions.find((y) => y.type === type);
  return x ? `${x.status}/${x.reason}` : 'absent';
};

describe('Controller', () => {
  it('publishes the decision and counts the change, and keeps lastUpdate while the decision holds', async () => {
    const { cluster, source, metrics, controller } = setup();
    cluster.add(testVariant('a'), 1);
    source.replicas = [hot('a-1', 'a')];
    const first = (await controller.reconcile()).outcomes[0];
    expect(first?.desiredReplicas).toBe(2);
    expect(cond(first, 'OptimizationReady')).toBe('True/OptimizationSucceeded');
    const stamp = cluster.statuses.get('a')?.desiredOptimizedAlloc?.lastUpdate;
    expect(stamp?.numReplicasChanged).toBe(1);
    const text = parsePrometheusText((await metrics.expose()).body);
    expect(text.get('wva_desired_replicas')?.[0]?.value).toBe(2);
    expect(text.get('wva_replica_scaling_total')?.[0]?.labels).toMatchObject({ direction: 'up', reason: 'saturation' });
    // The HPA has not acted yet: the decision is held (desired ≠ current), lastUpdate unchanged.
    const second = (await controller.reconcile()).outcomes[0];
    expect(second?.desiredReplicas).toBe(2);
    expect(cluster.statuses.get('a')?.desiredOptimizedAlloc?.lastUpdate).toEqual(stamp);
    expect(cluster.scaleCalls).toEqual([]);
  });

  it('writes /scale in direct mode', async () => {
    const { cluster, source, controller } = setup({ actuation: 'direct' });
    cluster.add(testVariant('a'), 1);
    source.replicas = [hot('a-1', 'a')];
    await controller.reconcile();
    expect(cluster.scaleCalls).toEqual([{ target: 'a', replicas: 2 }]);
    expect(cluster.statuses.get('a')?.actuation?.applied).toBe(true);
  });

  it('holds the whole model when one variant has no metrics, keeping the last decision', async () => {
    const { cluster, source, controller } = setup({ actuation: 'direct' });
    cluster.add(testVariant('a', { cost: 1 }), 1).add(testVariant('b', { cost: 2 }), 1);
    source.replicas = [hot('a-1', 'a')];
    source.broken.set('b', 'MetricsStale');
    const out = (await controller.reconcile()).outcomes;
    expect(out.map((o) => [o.variant, o.desiredReplicas, o.held])).toEqual([['a', 1, true], ['b', 1, true]]);
    expect(cond(out[1], 'MetricsAvailable')).toBe('False/MetricsStale');
    expect(cond(out[0], 'MetricsAvailable')).toBe('True/MetricsFound');
    expect(cond(out[0], 'OptimizationReady')).toBe('False/MetricsUnavailable');
    expect(cluster.scaleCalls).toEqual([]);
  });

  it('holds a model whose ConfigMap entry is bad and names the key; other models carry on', async () => {
    const { cluster, source, controller } = setup();
    cluster.add(testVariant('a', { modelID: 'bad' }), 1).add(testVariant('b', { modelID: 'good' }), 1);
    cluster.configMaps.set('sys/wva-saturation-scaling-config', { broken: 'model_id: bad\nqueueSpareTrigger: lots' });
    source.replicas = [hot('a-1', 'a'), hot('b-1', 'b')];
    const out = (await controller.reconcile()).outcomes;
    expect(cond(out[0], 'OptimizationReady')).toBe('False/InvalidConfiguration');
    expect(out[0]?.reason).toContain('wva-saturation-scaling-config/broken.queueSpareTrigger');
    expect(out[0]?.desiredReplicas).toBe(1);
    expect(out[1]?.desiredReplicas).toBe(2);
  });

  it('reads a namespace-local ConfigMap over the global one', async () => {
    const { cluster, source, controller } = setup();
    cluster.add(testVariant('a'), 1);
    // Globally a queue of 4 is fine (threshold 20, trigger 3); locally the trigger is 18.
    cluster.configMaps.set('sys/wva-saturation-scaling-config', { default: 'queueLengthThreshold: 20\nkvCacheThreshold: 0.95' });
    source.replicas = [{ pod: 'a-1', variant: 'a', kvUsage: 0.1, queueLength: 4 }];
    expect((await controller.reconcile()).outcomes[0]?.desiredReplicas).toBe(1);
    cluster.configMaps.set('ns/wva-saturation-scaling-config', { default: 'queueSpareTrigger: 18' });
    expect((await controller.reconcile()).outcomes[0]?.desiredReplicas).toBe(2);
  });

  it('checks rules between fields on what a model ends up with, naming where each came from', async () => {
    const { cluster, source, controller } = setup();
    cluster.add(testVariant('a'), 1);
    cluster.configMaps.set('sys/wva-saturation-scaling-config', { default: 'queueLengthThreshold: 4' });
    cluster.configMaps.set('ns/wva-saturation-scaling-config', { default: 'queueSpareTrigger: 6' });
    source.replicas = [cold('a-1', 'a')];
    const out = (await controller.reconcile()).outcomes[0];
    expect(cond(out, 'OptimizationReady')).toBe('False/InvalidConfiguration');
    expect(out?.reason).toContain('wva-saturation-scaling-config/default (namespace ns).queueSpareTrigger: queueSpareTrigger (6) must not exceed queueLengthThreshold (4)');
  });

  it('scales to zero after a retention period without requests, once it has watched the model that long', async () => {
    const clock = { t: Date.parse('2026-01-01T00:00:00Z') };
    const { cluster, source, controller } = setup({ scaleToZeroDefault: true }, clock);
    cluster.add(testVariant('a', { minReplicas: 0 }), 1);
    source.replicas = [cold('a-1', 'a')];
    source.requests = 0;
    expect((await controller.reconcile()).outcomes[0]?.desiredReplicas).toBe(1);
    clock.t += 9 * 60_000;
    expect((await controller.reconcile()).outcomes[0]?.desiredReplicas).toBe(1);
    clock.t += 61_000;
    const out = (await controller.reconcile()).outcomes[0];
    expect(out?.desiredReplicas).toBe(0);
    expect(out?.reason).toContain('scale to zero');
  });

  it('does not scale to zero while requests are in flight or queued in the router', async () => {
    const clock = { t: 0 };
    const { cluster, source, controller } = setup({ scaleToZeroDefault: true }, clock);
    cluster.add(testVariant('a', { minReplicas: 0 }), 1);
    source.requests = 0;
    source.replicas = [cold('a-1', 'a')];
    source.routerQueue = 2;
    await controller.reconcile();
    clock.t += 11 * 60_000;
    expect((await controller.reconcile()).outcomes[0]?.desiredReplicas).toBe(1);
  });

  it('limits scale-ups to the accelerator inventory in limited mode', async () => {
    const { cluster, source, controller } = setup({ limitedMode: true, acceleratorCapacity: new Map([['H100', 3]]) });
    cluster.add(testVariant('a', { accelerator: 'H100', modelID: 'x' }), 1).add(testVariant('b', { accelerator: 'H100', modelID: 'y' }), 1);
    cluster.configMaps.set('sys/wva-saturation-scaling-config', { y: 'model_id: y\npriority: 0' });
    source.replicas = [hot('a-1', 'a'), hot('b-1', 'b')];
    const out = (await controller.reconcile()).outcomes;
    // Three H100, two in use: both want one more; only y (priority 0) gets it.
    expect(out.map((o) => [o.variant, o.desiredReplicas])).toEqual([['a', 1], ['b', 2]]);
    expect(out[0]?.reason).toContain('limited to 1 by the H100 inventory');
  });

  it('reports a missing target and drops its metrics', async () => {
    const { cluster, metrics, controller } = setup();
    cluster.variants.push(testVariant('ghost'));
    const out = (await controller.reconcile()).outcomes[0];
    expect(cond(out, 'TargetResolved')).toBe('False/TargetNotFound');
    expect((await metrics.expose()).body).not.toContain('ghost');
  });
});
