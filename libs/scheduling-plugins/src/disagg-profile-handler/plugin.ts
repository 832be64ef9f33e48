import { definePlugin, RouterError } from '@llmd/scheduling';
import type {
  HeaderMutations,
  InferenceRequest,
  PluginHandle,
  PreRequestHook,
  ProfileHandler,
  ProfileRunResult,
  SchedulerProfile,
  SchedulingContext,
  SchedulingResult,
} from '@llmd/scheduling';
import { z } from 'zod';
import { DEFAULT_PD_PROFILES, decodeTarget, pdSchedulingResult } from '../pd-profile-handler/plugin.js';
import { writePrefillHeader } from '../prefill-header-handler/plugin.js';
import { isPdDecider, PdDecisionRecorder, type PdDecider, type PdDecision, type PdDecisionCounts, type PdDecisionSource } from './decider.js';

/** Upstream type name of the HEAD P/D profile handler. */
export const DISAGG_PROFILE_HANDLER_TYPE = 'disagg-profile-handler';

const name = z.string().min(1);

/** Resolved parameters: profile names and the prefill decider's plugin name (null = P/D off). */
export interface DisaggProfileHandlerParameters {
  readonly decodeProfile: string;
  readonly prefillProfile: string;
  readonly prefillDecider: string | null;
}

/**
 * Parameters of `disagg-profile-handler`: upstream's nested `profiles` / `deciders` and its flat
 * (older) names. The same setting given twice with different values is an error.
 */
export const disaggProfileHandlerParameters = z
  .object({
    profiles: z.object({ decode: name.optional(), prefill: name.optional() }).strict().optional(),
    /** `prefill`: instance name of the decider plugin (e.g. a `prefix-based-pd-decider`). */
    deciders: z.object({ prefill: name.optional() }).strict().optional(),
    decodeProfile: name.optional(),
    prefillProfile: name.optional(),
    prefillDeciderPluginName: name.optional(),
    deciderPluginName: name.optional(),
  })
  .strict()
  .prefault({})
  .superRefine((p, ctx) => {
    const same = (path: string[], values: (string | undefined)[]): void => {
      const given = new Set(values.filter((v) => v !== undefined));
      if (given.size > 1) ctx.addIssue({ code: 'custom', path, message: `given twice with different values (${[...given].join(', ')})` });
    };
    same(['profiles', 'decode'], [p.profiles?.decode, p.decodeProfile]);
    same(['profiles', 'prefill'], [p.profiles?.prefill, p.prefillProfile]);
    same(['deciders', 'prefill'], [p.deciders?.prefill, p.prefillDeciderPluginName, p.deciderPluginName]);
  })
  .transform(
    (p): DisaggProfileHandlerParameters => ({
      decodeProfile: p.profiles?.decode ?? p.decodeProfile ?? DEFAULT_PD_PROFILES.decode,
      prefillProfile: p.profiles?.prefill ?? p.prefillProfile ?? DEFAULT_PD_PROFILES.prefill,
      prefillDecider: p.deciders?.prefill ?? p.prefillDeciderPluginName ?? p.deciderPluginName ?? null,
    }),
  );

/**
 * llm-d-router HEAD's P/D handler: runs decode, then asks the prefill decider (given the decode
 * endpoint) whether to run prefill. As a PreRequest hook it writes `x-prefiller-host-port`, since
 * HEAD configs list no separate header handler.
 */
export class DisaggProfileHandler implements ProfileHandler, PreRequestHook, PdDecisionSource {
  readonly type = DISAGG_PROFILE_HANDLER_TYPE;
  readonly name: string;
  readonly params: DisaggProfileHandlerParameters;
  readonly #handle: PluginHandle;
  readonly #decisions = new PdDecisionRecorder();
  #decider: PdDecider | undefined;

  constructor(name: string, params: DisaggProfileHandlerParameters, handle: PluginHandle) {
    this.name = name;
    this.params = params;
    this.#handle = handle;
  }

  /** Decode first; then prefill once if the decider says so; nothing after decode failed. */
  pickProfiles(
    ctx: SchedulingContext,
    req: InferenceRequest,
    profiles: ReadonlyMap<string, SchedulerProfile>,
    results: ReadonlyMap<string, ProfileRunResult | null>,
  ): readonly SchedulerProfile[] {
    const { decodeProfile, prefillProfile } = this.params;
    if (!results.has(decodeProfile)) {
      const decode = profiles.get(decodeProfile);
      return decode === undefined ? [] : [decode];
    }
    const target = decodeTarget(results, decodeProfile);
    if (target === undefined) return [];
    const prefill = profiles.get(prefillProfile);
    if (prefill !== undefined && !results.has(prefillProfile)) {
      const decider = this.prefillDecider();
      if (decider !== null && decider.disaggregate(ctx, req, target)) return [prefill];
    }
    const prefillResult = results.get(prefillProfile);
    this.#decisions.record(req.targetModel, prefillResult !== undefined && prefillResult !== null && prefillResult.targets.length > 0);
    return [];
  }

  /** Decode is primary; a failed prefill is dropped; a failed decode is a 429. */
  processResults(_ctx: SchedulingContext, _req: InferenceRequest, results: ReadonlyMap<string, ProfileRunResult | null>): SchedulingResult {
    return pdSchedulingResult(results, this.params.decodeProfile, this.params.prefillProfile);
  }

  /** Clears a client-sent `x-prefiller-host-port` and sets it to the prefill target, if any. */
  preRequest(_ctx: SchedulingContext, _req: InferenceRequest, result: SchedulingResult, headers: HeaderMutations): void {
    writePrefillHeader(result, this.params.prefillProfile, headers);
  }

  /**
   * The configured prefill decider (null when none is configured), looked up by name on first use
   * because plugins can see each other only once all are built. Throws an `Internal` RouterError
   * when the name is unknown or not a decider; the router may call this after loading to fail early.
   */
  prefillDecider(): PdDecider | null {
    const wanted = this.params.prefillDecider;
    if (wanted === null) return null;
    if (this.#decider !== undefined) return this.#decider;
    const found = this.#handle.plugin(wanted);
    if (found === undefined) {
      throw new RouterError('Internal', `${this.type} "${this.name}": deciders.prefill plugin "${wanted}" is not configured`);
    }
    if (!isPdDecider(found)) {
      throw new RouterError('Internal', `${this.type} "${this.name}": plugin "${wanted}" (type ${found.type}) is not a P/D decider`);
    }
    this.#decider = found;
    return found;
  }

  /** Totals of decode-only and prefill-decode requests so far. */
  decisions(): PdDecisionCounts {
    return this.#decisions.counts();
  }

  /** Calls `listener` for every decision from now on; returns the unsubscribe function. */
  onDecision(listener: (decision: PdDecision) => void): () => void {
    return this.#decisions.subscribe(listener);
  }
}

/** Declares `disagg-profile-handler` (llm-d-router HEAD). */
export const disaggProfileHandler = definePlugin({
  type: DISAGG_PROFILE_HANDLER_TYPE,
  parameters: disaggProfileHandlerParameters,
  create: (pluginName, params, handle) => {
    if (params.prefillDecider === null) handle.logger.info({ plugin: pluginName }, 'no deciders.prefill configured: P/D disaggregation disabled');
    return new DisaggProfileHandler(pluginName, params, handle);
  },
});
