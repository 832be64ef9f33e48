// The P/D pieces the profile handlers, the deciders and the router share: what a decider is, and
// how handlers count their decisions for `llm_d_epp_pd_decision_total`.
import type { Endpoint, InferenceRequest, Plugin, SchedulingContext } from '@llmd/scheduling';

/** A P/D decider: whether a request's prefill should run on a separate prefill endpoint. */
export interface PdDecider extends Plugin {
  /** True to run the prefill profile, given the endpoint the decode profile chose. */
  disaggregate(ctx: SchedulingContext, req: InferenceRequest, decodeEndpoint: Endpoint): boolean;
}

/** True for P/D deciders. */
export const isPdDecider = (p: Plugin): p is PdDecider => typeof (p as PdDecider).disaggregate === 'function';

/** How a request was routed (upstream's `decision_type` label values). */
export type PdDecisionType = 'decode-only' | 'prefill-decode';

/** One routing decision of a P/D profile handler. */
export interface PdDecision {
  /** The request's target model (upstream's `model_name` label). */
  readonly model: string;
  readonly decisionType: PdDecisionType;
}

/** Decisions counted since the handler was built. */
export interface PdDecisionCounts {
  /** Requests sent with a prefill endpoint (`prefill-decode`). */
  readonly disaggregated: number;
  /** Requests served by the decode endpoint alone (`decode-only`). */
  readonly aggregated: number;
}

/** A plugin that reports its P/D decisions (both P/D profile handlers). */
export interface PdDecisionSource extends Plugin {
  /** Totals so far. */
  decisions(): PdDecisionCounts;
  /** Calls `listener` for every decision from now on; returns a function that unsubscribes. */
  onDecision(listener: (decision: PdDecision) => void): () => void;
}

/** True for plugins that report P/D decisions. */
export const isPdDecisionSource = (p: Plugin): p is PdDecisionSource =>
  typeof (p as PdDecisionSource).decisions === 'function' && typeof (p as PdDecisionSource).onDecision === 'function';

/** Counts decisions and forwards them to listeners (the router's metric). */
export class PdDecisionRecorder {
  #disaggregated = 0;
  #aggregated = 0;
  readonly #listeners = new Set<(decision: PdDecision) => void>();

  /** Records one decision. Listeners run synchronously on the scheduling path: keep them cheap. */
  record(model: string, disaggregated: boolean): void {
    if (disaggregated) this.#disaggregated++;
    else this.#aggregated++;
    if (this.#listeners.size === 0) return;
    const decision: PdDecision = { model, decisionType: disaggregated ? 'prefill-decode' : 'decode-only' };
    for (const listener of this.#listeners) listener(decision);
  }

  /** Totals so far. */
  counts(): PdDecisionCounts {
    return { disaggregated: this.#disaggregated, aggregated: this.#aggregated };
  }

  /** Adds a listener; returns a function that removes it. */
  subscribe(listener: (decision: PdDecision) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }
}
