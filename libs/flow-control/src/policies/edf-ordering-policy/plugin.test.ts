import { describe, expect, it } from 'vitest';
import { edfOrderingPolicy } from './plugin.js';

const INF = Number.POSITIVE_INFINITY;
const view = (sequence: number, enqueuedAt: number, deadline: number) => ({ requestId: `r${sequence}`, byteSize: 1, sequence, enqueuedAt, deadline });
const policy = edfOrderingPolicy.create('edf', edfOrderingPolicy.parameters.parse(undefined), {} as never) as unknown as { compare: (a: unknown, b: unknown) => number; type: string };

describe('edf-ordering-policy', () => {
  it.each([
    { case: 'earlier deadline first, whatever the arrival', a: view(9, 50, 100), b: view(1, 0, 200), want: -1 },
    { case: 'a request without deadline goes after one with', a: view(1, 0, INF), b: view(2, 10, 1e12), want: 1 },
    { case: 'two without deadline: arrival order (no NaN)', a: view(1, 0, INF), b: view(2, 5, INF), want: -1 },
    { case: 'equal deadlines: arrival order', a: view(3, 7, 100), b: view(2, 7, 100), want: 1 },
  ])('$case', ({ a, b, want }) => {
    expect(Math.sign(policy.compare(a, b))).toBe(want);
  });

  it('has the upstream type name and takes no parameters', () => {
    expect(policy.type).toBe('edf-ordering-policy');
    expect(edfOrderingPolicy.parameters.safeParse({ horizon: 1 }).success).toBe(false);
  });
});
