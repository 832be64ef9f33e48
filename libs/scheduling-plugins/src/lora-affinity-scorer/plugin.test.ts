import type { Scorer } from '@llmd/scheduling';
import { describe, expect, it } from 'vitest';
import { context, endpoint, handle, request } from '../test-support/fixtures.js';
import { loraAffinityScorer } from './plugin.js';

const scorer = loraAffinityScorer.create('lora', loraAffinityScorer.parameters.parse(undefined), handle()) as Scorer;

describe('lora-affinity-scorer', () => {
  it.each([
    { name: 'adapter active → 1.0', active: ['sql'], waiting: [], max: 4, want: 1 },
    { name: 'active wins even when the server is full', active: ['sql', 'a'], waiting: ['b'], max: 2, want: 1 },
    { name: 'room for another adapter → 0.8', active: ['a'], waiting: [], max: 4, want: 0.8 },
    { name: 'room is checked before waiting → 0.8', active: [], waiting: ['sql'], max: 4, want: 0.8 },
    { name: 'full but adapter waiting → 0.6', active: ['a'], waiting: ['sql'], max: 2, want: 0.6 },
    { name: 'full and adapter absent → 0', active: ['a', 'b'], waiting: [], max: 2, want: 0 },
    { name: 'unknown max (0) counts as full', active: [], waiting: [], max: 0, want: 0 },
  ])('$name', ({ active, waiting, max, want }) => {
    const e = endpoint({
      metrics: { activeModels: new Set(active), waitingModels: new Set(waiting), maxActiveModels: max },
    });
    expect(scorer.score(context(), request({ model: 'sql' }), [e])[0]).toBe(want);
  });

  it('uses the target model (after rewrites), not the incoming model', () => {
    const e = endpoint({ metrics: { activeModels: new Set(['sql-lora-1fdg2']), maxActiveModels: 1 } });
    const req = request({ model: 'sql-lora' });
    req.targetModel = 'sql-lora-1fdg2';
    expect(scorer.score(context(), req, [e])[0]).toBe(1);
  });

  it('is an affinity scorer and rejects unknown parameters', () => {
    expect(scorer).toMatchObject({ type: 'lora-affinity-scorer', category: 'affinity' });
    expect(loraAffinityScorer.parameters.safeParse({ adapter: 'x' }).success).toBe(false);
  });
});
