import { definePlugin } from '@llmd/scheduling';
import type { OrderingPolicy, QueuedRequestView } from '@llmd/scheduling';
import { z } from 'zod';

/** Upstream type name of the first-come-first-served ordering policy (the default). */
export const FCFS_ORDERING_POLICY_TYPE = 'fcfs-ordering-policy';

/** Earlier arrival first; the arrival sequence breaks ties of equal timestamps. */
export function compareArrival(a: QueuedRequestView, b: QueuedRequestView): number {
  if (a.enqueuedAt !== b.enqueuedAt) return a.enqueuedAt < b.enqueuedAt ? -1 : 1;
  return a.sequence - b.sequence;
}

/** `fcfs-ordering-policy`: inside a flow, requests leave in the order they arrived. */
export const fcfsOrderingPolicy = definePlugin({
  type: FCFS_ORDERING_POLICY_TYPE,
  parameters: z.object({}).strict().prefault({}),
  create: (name): OrderingPolicy => ({ type: FCFS_ORDERING_POLICY_TYPE, name, compare: compareArrival }),
});
