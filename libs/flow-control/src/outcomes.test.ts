import { describe, expect, it } from 'vitest';
import { flowControlError, QUEUE_OUTCOMES, type QueueOutcome } from './outcomes.js';

describe('flowControlError', () => {
  it.each([
    ['RejectedCapacity', undefined, 429, 'rejected-saturated', /^request rejected by flow control: d$/],
    ['RejectedNoEndpoints', undefined, 503, 'rejected-no-endpoints', /^no endpoints available: d$/],
    ['EvictedNoEndpoints', undefined, 503, 'rejected-no-endpoints', /^request timed out in queue and no endpoints are available: d$/],
    ['EvictedTTL', undefined, 503, 'rejected-ttl-expired', /^request timed out in queue: d$/],
    ['EvictedContextCancelled', undefined, 503, 'rejected-context-cancelled', /^client disconnected: d$/],
    ['EvictedOther', 'shutting-down', 503, 'rejected-shutting-down', /^flow controller shutting down: d$/],
    ['RejectedOther', 'shutting-down', 503, 'rejected-shutting-down', /^flow controller shutting down: d$/],
    ['RejectedOther', 'internal', 500, null, /^internal flow control error: d$/],
  ] as const)('maps %s (%s) to %i %s', (outcome, cause, status, reason, message) => {
    const e = flowControlError(outcome, 'd', cause);
    expect([e.status, e.droppedReason]).toEqual([status, reason]);
    expect(e.message).toMatch(message);
  });

  it('covers every outcome but Dispatched', () => {
    for (const o of QUEUE_OUTCOMES.filter((x): x is Exclude<QueueOutcome, 'Dispatched'> => x !== 'Dispatched')) {
      expect(flowControlError(o, 'x').status).toBeGreaterThanOrEqual(429);
    }
  });
});
