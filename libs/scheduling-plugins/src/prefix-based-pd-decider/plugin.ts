import { definePlugin } from '@llmd/scheduling';
import type { Endpoint, InferenceRequest, SchedulingContext } from '@llmd/scheduling';
import type { Logger } from 'pino';
import { z } from 'zod';
import { prefixCacheMatchInfoKey, type PrefixCacheMatchInfo } from '../approx-prefix-cache-producer/attributes.js';
import { APPROX_PREFIX_CACHE_PRODUCER_TYPE } from '../approx-prefix-cache-producer/plugin.js';
import type { PdDecider } from '../disagg-profile-handler/decider.js';

/** Upstream type name of the prefix-based P/D decider. */
export const PREFIX_BASED_PD_DECIDER_TYPE = 'prefix-based-pd-decider';

/** Upstream's characters-per-token estimate for prompts it has not tokenized. */
export const AVERAGE_CHARACTERS_PER_TOKEN = 4;

/** Parameters of `prefix-based-pd-decider` (upstream default 0 = never disaggregate). */
export const prefixBasedPdDeciderParameters = z
  .object({
    /** Uncached prompt tokens from which the prefill runs on a prefill endpoint; 0 disables P/D. */
    nonCachedTokens: z.number().int().min(0).default(0),
  })
  .strict()
  .prefault({});

/** Resolved parameters of the decider. */
export type PrefixBasedPdDeciderParameters = z.output<typeof prefixBasedPdDeciderParameters>;

/**
 * The prompt's size in tokens as upstream estimates it: the client's token ids when it sent them,
 * else the UTF-8 length of the prompt text (the prompt, or `JSON(messages)` for chat) ÷ 4, floored.
 */
export function estimatedPromptTokens(req: InferenceRequest): number {
  const ids = req.prompt.tokenIds;
  if (ids !== null && ids.length > 0) return ids.length;
  return Math.floor(Buffer.byteLength(req.prompt.text, 'utf8') / AVERAGE_CHARACTERS_PER_TOKEN);
}

/**
 * Disaggregates a request when the part of its prompt the decode endpoint is not believed to hold
 * is long enough: `promptTokens − matchBlocks·blockSize ≥ nonCachedTokens`, from the
 * `PrefixCacheMatchInfo` on the decode endpoint.
 */
export class PrefixBasedPdDecider implements PdDecider {
  readonly type = PREFIX_BASED_PD_DECIDER_TYPE;
  readonly name: string;
  readonly params: PrefixBasedPdDeciderParameters;
  readonly #logger: Logger;
  readonly #matchInfoKey = prefixCacheMatchInfoKey();

  constructor(name: string, params: PrefixBasedPdDeciderParameters, logger: Logger) {
    this.name = name;
    this.params = params;
    this.#logger = logger;
  }

  /** Whether the prefill should run on a prefill endpoint; false when disabled or without match info. */
  disaggregate(ctx: SchedulingContext, req: InferenceRequest, decodeEndpoint: Endpoint): boolean {
    const threshold = this.params.nonCachedTokens;
    if (threshold === 0) return false;
    const promptTokens = estimatedPromptTokens(req);
    // Shorter than the threshold: no cache state can make the uncached part reach it.
    if (promptTokens < threshold) return false;
    const info = ctx.attributes.get<PrefixCacheMatchInfo>(decodeEndpoint.metadata.id, this.#matchInfoKey);
    if (info === undefined) {
      // Upstream logs this as an error and stays aggregated.
      this.#logger.warn({ plugin: this.name, endpoint: decodeEndpoint.metadata.id }, 'no PrefixCacheMatchInfo on the decode endpoint; not disaggregating');
      return false;
    }
    const uncached = promptTokens - info.matchBlocks * info.blockSize;
    if (this.#logger.isLevelEnabled('debug')) {
      this.#logger.debug({ plugin: this.name, requestId: req.requestId, promptTokens, uncached, threshold }, 'prefix-based P/D decision');
    }
    return uncached >= threshold;
  }
}

/**
 * Declares `prefix-based-pd-decider`. It reads `PrefixCacheMatchInfo`, so the loader adds
 * `approx-prefix-cache-producer` when no producer of that type is configured.
 */
export const prefixBasedPdDecider = definePlugin({
  type: PREFIX_BASED_PD_DECIDER_TYPE,
  parameters: prefixBasedPdDeciderParameters,
  requires: [APPROX_PREFIX_CACHE_PRODUCER_TYPE],
  create: (name, params, handle) => {
    if (params.nonCachedTokens === 0) handle.logger.info({ plugin: name }, 'prefix-based P/D decider disabled (nonCachedTokens = 0)');
    return new PrefixBasedPdDecider(name, params, handle.logger);
  },
});
