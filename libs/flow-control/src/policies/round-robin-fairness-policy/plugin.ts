import { definePlugin } from '@llmd/scheduling';
import type { FairnessBandState, FairnessPolicy, FlowQueueView } from '@llmd/scheduling';
import { z } from 'zod';

/** Upstream type name of the round-robin fairness policy. */
export const ROUND_ROBIN_FAIRNESS_POLICY_TYPE = 'round-robin-fairness-policy';

/**
 * Serves the band's non-empty flows in turn: the next flow created after the one served last,
 * wrapping around. Flows arrive in creation order, so the turn survives flows coming and going.
 */
export class RoundRobinBandState implements FairnessBandState {
  #last = -1;

  pick(flows: readonly FlowQueueView[]): FlowQueueView | null {
    let first: FlowQueueView | null = null;
    let next: FlowQueueView | null = null;
    for (const flow of flows) {
      if (flow.length === 0) continue;
      if (first === null || flow.order < first.order) first = flow;
      if (flow.order > this.#last && (next === null || flow.order < next.order)) next = flow;
    }
    return next ?? first;
  }

  dispatched(flow: FlowQueueView): void {
    this.#last = flow.order;
  }
}

/** `round-robin-fairness-policy`: each fairness id of a band gets one dispatch per turn, whatever its backlog. */
export const roundRobinFairnessPolicy = definePlugin({
  type: ROUND_ROBIN_FAIRNESS_POLICY_TYPE,
  parameters: z.object({}).strict().prefault({}),
  create: (name): FairnessPolicy => ({ type: ROUND_ROBIN_FAIRNESS_POLICY_TYPE, name, newBandState: () => new RoundRobinBandState() }),
});
