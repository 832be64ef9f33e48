import type { FairnessPolicy, FlowQueueView, QueuedRequestView } from '@llmd/scheduling';
import { describe, expect, it } from 'vitest';
import { POLICIES } from '../../test-support/harness.js';
import { globalStrictFairnessPolicy } from './plugin.js';

const flow = (fairnessId: string, order: number, head: Partial<QueuedRequestView> | null): FlowQueueView => ({
  fairnessId,
  priority: 0,
  order,
  length: head === null ? 0 : 1,
  byteSize: 0,
  peek: () => (head === null ? null : { requestId: fairnessId, byteSize: 1, sequence: 0, enqueuedAt: 0, deadline: Number.POSITIVE_INFINITY, ...head }),
});

describe('global-strict-fairness-policy', () => {
  const state = (globalStrictFairnessPolicy.create('gs', globalStrictFairnessPolicy.parameters.parse(undefined), {} as never) as FairnessPolicy).newBandState();

  it('picks the flow whose head the ordering policy ranks first, whoever created it first', () => {
    const flows = [flow('a', 0, { sequence: 5, enqueuedAt: 50 }), flow('b', 1, { sequence: 2, enqueuedAt: 20 }), flow('c', 2, { sequence: 9, enqueuedAt: 90 })];
    expect(state.pick(flows, POLICIES.fcfs)?.fairnessId).toBe('b');
  });

  it('follows the ordering policy: under EDF the earliest deadline wins', () => {
    const flows = [flow('a', 0, { sequence: 1, enqueuedAt: 10, deadline: 5000 }), flow('b', 1, { sequence: 2, enqueuedAt: 20, deadline: 300 })];
    expect(state.pick(flows, POLICIES.edf)?.fairnessId).toBe('b');
    expect(state.pick(flows, POLICIES.fcfs)?.fairnessId).toBe('a');
  });

  it('skips empty flows and returns null when all are empty', () => {
    expect(state.pick([flow('a', 0, null), flow('b', 1, { sequence: 3 })], POLICIES.fcfs)?.fairnessId).toBe('b');
    expect(state.pick([flow('a', 0, null)], POLICIES.fcfs)).toBeNull();
  });
});
