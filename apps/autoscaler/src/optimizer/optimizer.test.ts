import { describe, expect, it } from 'vitest';
import type { VariantTarget } from '../analyzers/saturation.js';
import type { Variant, VariantState } from '../model.js';
import { limitByInventory, type LimiterRequest } from './limiter.js';
import { enforceScaleToZero } from './scale-to-zero.js';

const req = (key: string, over: Partial<LimiterRequest>): LimiterRequest => ({ key, accelerator: 'H100', acceleratorCount: 1, currentReplicas: 1, targetReplicas: 1, priority: 1, spare: 0.5, ...over });

describe('limitByInventory', () => {
  it('grants scale-ups by priority, then by saturation, within each accelerator pool', () => {
    // 8 H100: A holds 2×2, B holds 2×1 → 2 free.
    const grants = limitByInventory(
      [
        req('A', { acceleratorCount: 2, currentReplicas: 2, targetReplicas: 4, spare: 0.05 }),
        req('B', { currentReplicas: 2, targetReplicas: 5, spare: 0.2 }),
        req('C', { accelerator: 'A100', acceleratorCount: 2, currentReplicas: 0, targetReplicas: 2 }),
      ],
      new Map([['H100', 8], ['A100', 4]]),
    );
    expect(grants.get('A')).toEqual({ key: 'A', targetReplicas: 3, limited: true });
    expect(grants.get('B')).toEqual({ key: 'B', targetReplicas: 2, limited: true });
    expect(grants.get('C')).toEqual({ key: 'C', targetReplicas: 2, limited: false });
  });

  it('serves a lower priority number first even when it is less saturated', () => {
    const grants = limitByInventory([req('low', { priority: 5, targetReplicas: 3, spare: 0 }), req('high', { priority: 1, targetReplicas: 3, spare: 0.6 })], new Map([['H100', 4]]));
    expect(grants.get('high')?.targetReplicas).toBe(3);
    expect(grants.get('low')?.targetReplicas).toBe(1);
  });

  it('lets scale-downs free accelerators and leaves unknown types alone', () => {
    const grants = limitByInventory([req('down', { currentReplicas: 3, targetReplicas: 1 }), req('up', { currentReplicas: 1, targetReplicas: 3 }), req('x', { accelerator: 'TPU', targetReplicas: 9 })], new Map([['H100', 4]]));
    expect(grants.get('down')?.targetReplicas).toBe(1);
    expect(grants.get('up')?.targetReplicas).toBe(3);
    expect(grants.get('x')?.targetReplicas).toBe(9);
  });
});

describe('enforceScaleToZero', () => {
  const v = (name: string, cost: number, minReplicas = 0): Variant => ({ name, namespace: 'ns', modelID: 'm', target: { apiVersion: 'apps/v1', kind: 'Deployment', name }, cost, accelerator: '', acceleratorCount: 1, minReplicas, maxReplicas: 4 });
  const s = (x: Variant, current: number): VariantState => ({ variant: x, currentReplicas: current, readyReplicas: current, previousDesired: null });
  const targets = (entries: Record<string, number>) => new Map<string, VariantTarget>(Object.entries(entries).map(([k, t]) => [k, { target: t, reason: 'analyzer' }]));
  const on = { enableScaleToZero: true, retentionPeriodMs: 600_000 };
  const off = { enableScaleToZero: false, retentionPeriodMs: 600_000 };

  it('sends every variant to zero after a retention period without requests', () => {
    const out = enforceScaleToZero([s(v('a', 1), 1), s(v('b', 2), 2)], targets({ a: 1, b: 2 }), on, 0);
    expect([...out.values()].map((t) => t.target)).toEqual([0, 0]);
    expect(out.get('a')?.reason).toContain('no requests in the last 10m');
  });

  it.each<[string, number | undefined, boolean, number]>([
    ['requests seen', 4, true, 0],
    ['count unknown', undefined, true, 0],
    ['a variant with minReplicas > 0', 0, false, 1],
  ])('keeps the targets when %s', (_what, count, zeroMin, min) => {
    const out = enforceScaleToZero([s(v('a', 1, zeroMin ? 0 : min), 1), s(v('b', 2), 1)], targets({ a: 1, b: 1 }), on, count);
    expect([...out.values()].map((t) => t.target)).toEqual([1, 1]);
  });

  it('keeps one replica on the cheapest variant when scale to zero is off', () => {
    const out = enforceScaleToZero([s(v('pricey', 9), 0), s(v('cheap', 3), 0)], targets({ pricey: 0, cheap: 0 }), off, 0);
    expect(out.get('cheap')?.target).toBe(1);
    expect(out.get('pricey')?.target).toBe(0);
  });
});
