import { parsePrometheusText } from '@llmd/model-server';
import { describe, expect, it } from 'vitest';
import { ActuationMetrics } from './metrics.js';

async function samples(m: ActuationMetrics) {
  return parsePrometheusText((await m.expose()).body);
}

describe('ActuationMetrics', () => {
  it('publishes desired, current and their ratio with upstream labels', async () => {
    const m = new ActuationMetrics();
    const v = { variantName: 'llama-h100', namespace: 'llm-d', acceleratorType: 'H100' };
    m.publish(v, 3, 2);
    const s = await samples(m);
    const labels = { variant_name: 'llama-h100', namespace: 'llm-d', accelerator_type: 'H100' };
    expect(s.get('wva_desired_replicas')).toEqual([expect.objectContaining({ labels, value: 3 })]);
    expect(s.get('wva_current_replicas')).toEqual([expect.objectContaining({ labels, value: 2 })]);
    expect(s.get('wva_desired_ratio')).toEqual([expect.objectContaining({ labels, value: 1.5 })]);
    m.publish(v, 1, 0);
    expect((await samples(m)).get('wva_desired_ratio')?.[0]?.value).toBe(1);
  });

  it('counts changes by direction and reason, and adds controller_instance when set', async () => {
    const m = new ActuationMetrics({ controllerInstance: 'a' });
    const v = { variantName: 'x', namespace: 'ns', acceleratorType: '' };
    m.countChange(v, 1, 2, 'saturation');
    m.countChange(v, 2, 3, 'saturation');
    m.countChange(v, 3, 3, 'saturation');
    m.countChange(v, 3, 0, 'scale_to_zero');
    const s = (await samples(m)).get('wva_replica_scaling_total') ?? [];
    expect(s.find((x) => x.labels.direction === 'up')).toMatchObject({ value: 2, labels: { reason: 'saturation', controller_instance: 'a' } });
    expect(s.find((x) => x.labels.direction === 'down')).toMatchObject({ value: 1, labels: { reason: 'scale_to_zero' } });
  });

  it('drops the series of variants that are gone', async () => {
    const m = new ActuationMetrics();
    m.publish({ variantName: 'keep', namespace: 'ns', acceleratorType: '' }, 1, 1);
    m.publish({ variantName: 'gone', namespace: 'ns', acceleratorType: '' }, 1, 1);
    m.retainOnly(new Set(['ns/keep']));
    expect((await samples(m)).get('wva_desired_replicas')?.map((x) => x.labels.variant_name)).toEqual(['keep']);
  });
});
