import type { FairnessPolicy, FlowQueueView } from '@llmd/scheduling';
import { describe, expect, it } from 'vitest';
import { POLICIES } from '../../test-support/harness.js';
import { roundRobinFairnessPolicy } from './plugin.js';

const flow = (fairnessId: string, order: number, length = 1): FlowQueueView => ({
  fairnessId,
  priority: 0,
  order,
  length,
  byteSize: 0,
  peek: () => null,
});

const newState = () => (roundRobinFairnessPolicy.create('rr', roundRobinFairnessPolicy.parameters.parse(undefined), {} as never) as FairnessPolicy).newBandState();

/** Picks and dispatches `n` times, returning whose turn it was. */
function turns(flows: FlowQueueView[], n: number, state = newState()): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const f = state.pick(flows, POLICIES.fcfs);
    if (f === null) break;
    out.push(f.fairnessId);
    state.dispatched?.(f);
  }
  return out;
}

describe('round-robin-fairness-policy', () => {
  it('cycles through the flows in creation order, wrapping around', () => {
    expect(turns([flow('a', 0), flow('b', 1), flow('c', 2)], 7)).toEqual(['a', 'b', 'c', 'a', 'b', 'c', 'a']);
  });

  it('does not advance until a request is actually dispatched', () => {
    const state = newState();
    const flows = [flow('a', 0), flow('b', 1)];
    expect(state.pick(flows, POLICIES.fcfs)?.fairnessId).toBe('a');
    expect(state.pick(flows, POLICIES.fcfs)?.fairnessId).toBe('a');
  });

  it('keeps the turn when flows come and go: a new flow takes its place at the end', () => {
    const state = newState();
    expect(turns([flow('a', 0), flow('b', 1)], 1, state)).toEqual(['a']);
    // b drained and came back as a new flow (order 3); c arrived (order 2).
    expect(turns([flow('a', 0), flow('c', 2), flow('b', 3)], 4, state)).toEqual(['c', 'b', 'a', 'c']);
  });

  it('skips empty flows and returns null when none has requests', () => {
    expect(turns([flow('a', 0, 0), flow('b', 1)], 2)).toEqual(['b', 'b']);
    expect(newState().pick([flow('a', 0, 0)], POLICIES.fcfs)).toBeNull();
  });
});
