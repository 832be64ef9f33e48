import type { Scorer } from '@llmd/scheduling';
import { describe, expect, it } from 'vitest';
import { context, endpoint, handle, request } from '../test-support/fixtures.js';
import { queueScorer } from './plugin.js';

const scorer = queueScorer.create('queue', queueScorer.parameters.parse(undefined), handle()) as Scorer;

describe('queue-scorer', () => {
  it.each([
    { name: 'shortest queue 1, longest 0, others linear', queues: [0, 5, 10], want: [1, 0.5, 0] },
    { name: 'min-max is relative to the candidates, not to 0', queues: [4, 6, 8], want: [1, 0.5, 0] },
    { name: 'all equal → 1 for everyone', queues: [3, 3, 3], want: [1, 1, 1] },
    { name: 'single endpoint → 1', queues: [42], want: [1] },
    { name: 'order of output follows order of input', queues: [10, 0], want: [0, 1] },
    { name: 'no candidates → no scores', queues: [], want: [] },
  ])('$name', ({ queues, want }) => {
    const endpoints = queues.map((q) => endpoint({ metrics: { waitingQueueSize: q } }));
    const scores = scorer.score(context(), request(), endpoints);
    expect(Array.from(scores)).toEqual(want);
  });

  it('is a distribution scorer of type queue-scorer', () => {
    expect(scorer).toMatchObject({ type: 'queue-scorer', name: 'queue', category: 'distribution' });
  });

  it.each([{ params: { foo: 1 } }, { params: 'x' }])('rejects unknown or malformed parameters: $params', ({ params }) => {
    expect(queueScorer.parameters.safeParse(params).success).toBe(false);
  });
});
