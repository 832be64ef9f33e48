import { definePlugin, RouterError } from '@llmd/scheduling';
import type {
  Endpoint,
  InferenceRequest,
  PluginHandle,
  ProfileHandler,
  ProfileRunResult,
  SchedulerProfile,
  SchedulingContext,
  SchedulingResult,
} from '@llmd/scheduling';
import { z } from 'zod';
import { prefixCacheMatchInfoKey, type PrefixCacheMatchInfo } from '../approx-prefix-cache-producer/attributes.js';
import { PdDecisionRecorder, type PdDecision, type PdDecisionCounts, type PdDecisionSource } from '../disagg-profile-handler/decider.js';
import { PrefixCacheScorerV1, PREFIX_CACHE_SCORER_TYPE } from '../prefix-cache-scorer/plugin.js';
import { AVERAGE_CHARACTERS_PER_TOKEN } from '../prefix-based-pd-decider/plugin.js';

/** Upstream type name of the v0.3.0 P/D profile handler. */
export const PD_PROFILE_HANDLER_TYPE = 'pd-profile-handler';

/** Default profile names of the P/D handlers. */
export const DEFAULT_PD_PROFILES = Object.freeze({ decode: 'decode', prefill: 'prefill' });

// Upstream's scheduler error reaches the client wrapped by the director as
// `ResourceExhausted - failed to find target endpoint: <error>` (429), as in single-profile-handler.
const NO_DECODE = 'failed to find target endpoint: failed to find available decode workers';

const profileName = z.string().min(1);

/** Parameters of `pd-profile-handler` (LLMD v0.3.0 names and defaults). */
export const pdProfileHandlerParameters = z
  .object({
    /** Uncached prompt characters from which prefill runs on a prefill endpoint; 0 = always. */
    threshold: z.number().int().min(0).default(0),
    decodeProfile: profileName.default(DEFAULT_PD_PROFILES.decode),
    prefillProfile: profileName.default(DEFAULT_PD_PROFILES.prefill),
    /** Characters per block of the v1.0 prefix-cache-scorer whose match counts are read. */
    hashBlockSize: z.number().int().positive().default(64),
    /** Instance name of that scorer. */
    prefixPluginName: profileName.default(PREFIX_CACHE_SCORER_TYPE),
  })
  .strict()
  .prefault({});

/** Resolved parameters of the handler. */
export type PdProfileHandlerParameters = z.output<typeof pdProfileHandlerParameters>;

/** The decode profile's first target, when the decode profile ran and found one. */
export function decodeTarget(results: ReadonlyMap<string, ProfileRunResult | null>, decodeProfile: string): Endpoint | undefined {
  return results.get(decodeProfile)?.targets[0];
}

/**
 * The P/D scheduling result: decode is primary; a prefill result is kept only when it has a target.
 * Throws `ResourceExhausted` (429) when decode found nothing. Shared by both P/D handlers.
 */
export function pdSchedulingResult(
  results: ReadonlyMap<string, ProfileRunResult | null>,
  decodeProfile: string,
  prefillProfile: string,
): SchedulingResult {
  const decode = results.get(decodeProfile);
  if (decode === undefined || decode === null || decode.targets.length === 0) throw new RouterError('ResourceExhausted', NO_DECODE);
  const profileResults = new Map<string, ProfileRunResult | null>([[decodeProfile, decode]]);
  const prefill = results.get(prefillProfile);
  if (prefill !== undefined && prefill !== null && prefill.targets.length > 0) profileResults.set(prefillProfile, prefill);
  return { profileResults, primaryProfileName: decodeProfile };
}

/**
 * LLMD v0.3.0's P/D handler: runs decode, then prefill unless `threshold > 0` and the part of the
 * prompt the chosen decode endpoint is not believed to hold is shorter than `threshold` characters.
 */
export class PdProfileHandler implements ProfileHandler, PdDecisionSource {
  readonly type = PD_PROFILE_HANDLER_TYPE;
  readonly name: string;
  readonly params: PdProfileHandlerParameters;
  readonly #handle: PluginHandle;
  readonly #decisions = new PdDecisionRecorder();
  readonly #matchInfoKey = prefixCacheMatchInfoKey();
  // undefined = not looked up yet; null = no v1.0 scorer under that name (read PrefixCacheMatchInfo).
  #v1Scorer: PrefixCacheScorerV1 | null | undefined;

  constructor(name: string, params: PdProfileHandlerParameters, handle: PluginHandle) {
    this.name = name;
    this.params = params;
    this.#handle = handle;
  }

  /** Decode first; then prefill once, unless decode failed, everything ran, or the threshold says no. */
  pickProfiles(
    ctx: SchedulingContext,
    req: InferenceRequest,
    profiles: ReadonlyMap<string, SchedulerProfile>,
    results: ReadonlyMap<string, ProfileRunResult | null>,
  ): readonly SchedulerProfile[] {
    const { decodeProfile, prefillProfile, threshold } = this.params;
    if (!results.has(decodeProfile)) {
      const decode = profiles.get(decodeProfile);
      return decode === undefined ? [] : [decode];
    }
    const target = decodeTarget(results, decodeProfile);
    if (target === undefined) return [];
    const prefill = profiles.get(prefillProfile);
    if (results.size >= profiles.size || results.has(prefillProfile) || prefill === undefined) return this.#done(req, results);
    if (threshold > 0 && this.uncachedPromptChars(ctx, req, target) < threshold) return this.#done(req, results);
    return [prefill];
  }

  /** Decode is primary; a failed prefill is dropped; a failed decode is a 429. */
  processResults(_ctx: SchedulingContext, _req: InferenceRequest, results: ReadonlyMap<string, ProfileRunResult | null>): SchedulingResult {
    return pdSchedulingResult(results, this.params.decodeProfile, this.params.prefillProfile);
  }

  /**
   * Prompt characters (UTF-8 bytes) the decode endpoint is not believed to hold. From the v1.0
   * prefix-cache-scorer named `prefixPluginName` when it is configured in that form:
   * `len − max(count − 1, 0)·hashBlockSize` (upstream's "first hit is the model" adjustment); else from
   * the endpoint's `PrefixCacheMatchInfo`: `len − matchBlocks·blockSize·4`; else the whole prompt.
   */
  uncachedPromptChars(ctx: SchedulingContext, req: InferenceRequest, decodeEndpoint: Endpoint): number {
    const length = Buffer.byteLength(req.prompt.text, 'utf8');
    const scorer = this.#scorer();
    if (scorer !== null) {
      const count = scorer.cycleMatch(ctx, req)?.matched.get(decodeEndpoint.metadata.id) ?? 0;
      return length - Math.max(count - 1, 0) * this.params.hashBlockSize;
    }
    const info = ctx.attributes.get<PrefixCacheMatchInfo>(decodeEndpoint.metadata.id, this.#matchInfoKey);
    if (info === undefined) return length;
    return length - info.matchBlocks * info.blockSize * AVERAGE_CHARACTERS_PER_TOKEN;
  }

  /** Totals of decode-only and prefill-decode requests so far. */
  decisions(): PdDecisionCounts {
    return this.#decisions.counts();
  }

  /** Calls `listener` for every decision from now on; returns the unsubscribe function. */
  onDecision(listener: (decision: PdDecision) => void): () => void {
    return this.#decisions.subscribe(listener);
  }

  #done(req: InferenceRequest, results: ReadonlyMap<string, ProfileRunResult | null>): readonly SchedulerProfile[] {
    const prefill = results.get(this.params.prefillProfile);
    this.#decisions.record(req.targetModel, prefill !== undefined && prefill !== null && prefill.targets.length > 0);
    return [];
  }

  /** The v1.0 scorer to read match counts from, looked up once (plugins exist only after loading). */
  #scorer(): PrefixCacheScorerV1 | null {
    if (this.#v1Scorer !== undefined) return this.#v1Scorer;
    const found = this.#handle.plugin(this.params.prefixPluginName);
    this.#v1Scorer = found instanceof PrefixCacheScorerV1 ? found : null;
    if (this.#v1Scorer !== null && this.#v1Scorer.params.hashBlockSize !== this.params.hashBlockSize) {
      this.#handle.logger.warn(
        { plugin: this.name, hashBlockSize: this.params.hashBlockSize, scorerHashBlockSize: this.#v1Scorer.params.hashBlockSize },
        'hashBlockSize differs from the prefix-cache-scorer\'s; cached lengths are computed with this handler\'s value, as upstream',
      );
    }
    return this.#v1Scorer;
  }
}

/** Declares `pd-profile-handler` (LLMD v0.3.0). */
export const pdProfileHandler = definePlugin({
  type: PD_PROFILE_HANDLER_TYPE,
  parameters: pdProfileHandlerParameters,
  create: (name, params, handle) => new PdProfileHandler(name, params, handle),
});
