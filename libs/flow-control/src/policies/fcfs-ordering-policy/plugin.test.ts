import { describe, expect, it } from 'vitest';
import { fcfsOrderingPolicy } from './plugin.js';

const view = (sequence: number, enqueuedAt: number, deadline = Number.POSITIVE_INFINITY) => ({ requestId: `r${sequence}`, byteSize: 1, sequence, enqueuedAt, deadline });
const policy = fcfsOrderingPolicy.create('fcfs', fcfsOrderingPolicy.parameters.parse(undefined), {} as never) as unknown as { compare: (a: unknown, b: unknown) => number; type: string };

describe('fcfs-ordering-policy', () => {
  it.each([
    { case: 'earlier enqueue first', a: view(2, 10), b: view(1, 20), want: -1 },
    { case: 'later enqueue last', a: view(1, 30), b: view(2, 20), want: 1 },
    { case: 'same instant: arrival sequence decides', a: view(5, 10), b: view(4, 10), want: 1 },
    { case: 'deadlines do not matter', a: view(1, 10, 99_999), b: view(2, 11, 5), want: -1 },
  ])('$case', ({ a, b, want }) => {
    expect(Math.sign(policy.compare(a, b))).toBe(want);
  });

  it('has the upstream type name and takes no parameters', () => {
    expect(policy.type).toBe('fcfs-ordering-policy');
    expect(fcfsOrderingPolicy.parameters.safeParse({ x: 1 }).success).toBe(false);
  });
});
