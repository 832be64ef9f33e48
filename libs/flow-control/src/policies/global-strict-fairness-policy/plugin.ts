import { definePlugin } from '@llmd/scheduling';
import type { FairnessBandState, FairnessPolicy, FlowQueueView, OrderingPolicy, QueuedRequestView } from '@llmd/scheduling';
import { z } from 'zod';

/** Upstream type name of the global-strict fairness policy (the default). */
export const GLOBAL_STRICT_FAIRNESS_POLICY_TYPE = 'global-strict-fairness-policy';

/** Picks the flow whose head request the band's ordering policy ranks first: the band behaves as one queue. */
const globalStrictState: FairnessBandState = {
  pick(flows: readonly FlowQueueView[], ordering: OrderingPolicy): FlowQueueView | null {
    let best: FlowQueueView | null = null;
    let bestHead: QueuedRequestView | null = null;
    for (const flow of flows) {
      const head = flow.peek();
      if (head === null) continue;
      if (bestHead === null || ordering.compare(head, bestHead) < 0) {
        best = flow;
        bestHead = head;
      }
    }
    return best;
  },
};

/**
 * `global-strict-fairness-policy`: no fairness between tenants; the band's requests leave in the
 * ordering policy's order across all flows (FCFS by default).
 */
export const globalStrictFairnessPolicy = definePlugin({
  type: GLOBAL_STRICT_FAIRNESS_POLICY_TYPE,
  parameters: z.object({}).strict().prefault({}),
  create: (name): FairnessPolicy => ({ type: GLOBAL_STRICT_FAIRNESS_POLICY_TYPE, name, newBandState: () => globalStrictState }),
});
