import type { Scorer } from '@llmd/scheduling';
import { describe, expect, it } from 'vitest';
import { context, endpoint, handle, request } from '../test-support/fixtures.js';
import { runningRequestsSizeScorer } from './plugin.js';

const scorer = runningRequestsSizeScorer.create('running', runningRequestsSizeScorer.parameters.parse(undefined), handle()) as Scorer;

describe('running-requests-size-scorer', () => {
  it.each([
    { name: 'smallest batch 1, largest 0', running: [2, 4, 6], waiting: [0, 0, 0], want: [1, 0.5, 0] },
    { name: 'all equal → 1', running: [7, 7], waiting: [0, 0], want: [1, 1] },
    { name: 'reads running requests, not the waiting queue', running: [0, 8], waiting: [9, 0], want: [1, 0] },
    { name: 'single endpoint → 1', running: [3], waiting: [0], want: [1] },
  ])('$name', ({ running, waiting, want }) => {
    const endpoints = running.map((r, i) =>
      endpoint({ metrics: { runningRequestsSize: r, waitingQueueSize: waiting[i] ?? 0 } }),
    );
    expect(Array.from(scorer.score(context(), request(), endpoints))).toEqual(want);
  });

  it('is a distribution scorer and rejects unknown parameters', () => {
    expect(scorer).toMatchObject({ type: 'running-requests-size-scorer', category: 'distribution' });
    expect(runningRequestsSizeScorer.parameters.safeParse({ threshold: 1 }).success).toBe(false);
  });
});
