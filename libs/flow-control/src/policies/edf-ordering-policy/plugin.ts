import { definePlugin } from '@llmd/scheduling';
import type { OrderingPolicy, QueuedRequestView } from '@llmd/scheduling';
import { z } from 'zod';
import { compareArrival } from '../fcfs-ordering-policy/plugin.js';

/** Upstream type name of the earliest-deadline-first ordering policy. */
export const EDF_ORDERING_POLICY_TYPE = 'edf-ordering-policy';

/** Earlier deadline (enqueue time + TTL) first; requests without a deadline last; arrival order breaks ties. */
export function compareDeadline(a: QueuedRequestView, b: QueuedRequestView): number {
  // Compared, not subtracted: two infinite deadlines would give NaN.
  if (a.deadline !== b.deadline) return a.deadline < b.deadline ? -1 : 1;
  return compareArrival(a, b);
}

/** `edf-ordering-policy`: inside a flow, the request closest to its TTL leaves first. */
export const edfOrderingPolicy = definePlugin({
  type: EDF_ORDERING_POLICY_TYPE,
  parameters: z.object({}).strict().prefault({}),
  create: (name): OrderingPolicy => ({ type: EDF_ORDERING_POLICY_TYPE, name, compare: compareDeadline }),
});
