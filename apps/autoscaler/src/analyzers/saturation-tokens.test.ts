import { describe, expect, it } from 'vitest';
import { DEFAULT_SATURATION_CONFIG as C } from '../config/saturation-config.js';
import type { ReplicaMetrics, Variant, VariantState } from '../model.js';
import { analyzeTokens, CapacityHistory, MissingInputError, outputBucket, tokenTargets } from './saturation-tokens.js';

const v = (name: string, cost: number, over: Partial<Variant> = {}): Variant => ({
  name, namespace: 'ns', modelID: 'm', target: { apiVersion: 'apps/v1', kind: 'Deployment', name }, cost, accelerator: 'H100', acceleratorCount: 1, minReplicas: 1, maxReplicas: 10, ...over,
});
const s = (x: Variant, current: number, ready = current): VariantState => ({ variant: x, currentReplicas: current, readyReplicas: ready, previousDesired: null });
// 1000 blocks of 16 tokens: k1 = 16000 × 0.8 = 12800 tokens.
const r = (pod: string, variant: string, kvUsage: number, queueLength = 0, avgInputTokens = 500): ReplicaMetrics => ({ pod, variant, kvUsage, queueLength, numGpuBlocks: 1000, blockSize: 16, avgInputTokens, avgOutputTokens: 200 });

describe('token-based saturation analysis', () => {
  it('computes capacity from the KV cache (k1) and demand from tokens in use plus queued prompts', () => {
    const a = analyzeTokens('m', [s(v('a', 10), 2)], [r('a-1', 'a', 0.5, 2), r('a-2', 'a', 0.25)], C, new CapacityHistory());
    expect(a.capacityPerReplica.get('a')).toBe(12800);
    expect(a.demand).toBe(8000 + 1000 + 4000);
    expect(a.supply).toBe(25600);
    expect(a.required).toBeCloseTo(13000 / 0.85 - 25600, 6);
    expect(a.spare).toBeCloseTo(25600 - 13000 / 0.7, 6);
  });

  it('learns k2 from a replica with a full queue and uses it for the others', () => {
    const history = new CapacityHistory();
    const a = analyzeTokens('m', [s(v('a', 10), 2)], [r('a-1', 'a', 0.6, 5), r('a-2', 'a', 0.1)], C, history);
    // 0.6 × 16000 = 9600 tokens in use at a full queue: the real capacity, below k1.
    expect(a.capacityPerReplica.get('a')).toBe((9600 + 9600) / 2);
    expect(history.average(`m|H100|${outputBucket(200)}`)).toBe(9600);
  });

  it('derives k2 from the batch size when nothing was observed', () => {
    const a = analyzeTokens('m', [s(v('a', 10, { maxBatchSize: 16 }), 1)], [r('a-1', 'a', 0.1)], C, new CapacityHistory());
    expect(a.capacityPerReplica.get('a')).toBe(16 * (500 + 100));
  });

  it('adds as many replicas of the cheapest variant as cover the missing capacity', () => {
    const states = [s(v('pricey', 30), 1), s(v('cheap', 5), 1)];
    const a = analyzeTokens('m', states, [r('pricey-1', 'pricey', 0.79, 3), r('cheap-1', 'cheap', 0.79, 3)], C, new CapacityHistory());
    const t = tokenTargets(states, a);
    expect(a.required).toBeGreaterThan(0);
    expect(t.get('cheap')?.target).toBe(1 + Math.ceil(a.required / (a.capacityPerReplica.get('cheap') as number)));
    expect(t.get('pricey')?.target).toBe(1);
  });

  it('removes one replica of the most expensive variant when a whole replica is spare', () => {
    const states = [s(v('pricey', 30), 2), s(v('cheap', 5), 2)];
    const a = analyzeTokens('m', states, [r('pricey-1', 'pricey', 0.05), r('pricey-2', 'pricey', 0.05), r('cheap-1', 'cheap', 0.05), r('cheap-2', 'cheap', 0.05)], C, new CapacityHistory());
    const t = tokenTargets(states, a);
    expect(t.get('pricey')?.target).toBe(1);
    expect(t.get('cheap')?.target).toBe(2);
  });

  it('fails loudly rather than guessing when the cache size is unknown', () => {
    const bare: ReplicaMetrics = { pod: 'a-1', variant: 'a', kvUsage: 0.5, queueLength: 0 };
    expect(() => analyzeTokens('m', [s(v('a', 1), 1)], [bare], C, new CapacityHistory())).toThrow(MissingInputError);
    expect(() => analyzeTokens('m', [s(v('a', 1), 1)], [bare], C, new CapacityHistory())).toThrow('vllm:cache_config_info');
  });
});
