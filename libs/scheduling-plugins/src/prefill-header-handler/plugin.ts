import { definePlugin } from '@llmd/scheduling';
import type { HeaderMutations, PreRequestHook, SchedulingResult } from '@llmd/scheduling';
import { z } from 'zod';

/** Upstream type name of the prefill header handler (LLMD v0.3.0). */
export const PREFILL_HEADER_HANDLER_TYPE = 'prefill-header-handler';

/** HEAD name of the same plugin (registered there for the same factory). */
export const DISAGG_HEADERS_HANDLER_TYPE = 'disagg-headers-handler';

/** Header telling the decode pod's sidecar where to run the prefill leg: `<ip>:<port>`. */
export const PREFILLER_HOST_PORT_HEADER = 'x-prefiller-host-port';

/** Default name of the prefill scheduling profile. */
export const DEFAULT_PREFILL_PROFILE = 'prefill';

/**
 * Drops any client-sent `x-prefiller-host-port` (a client must not pick the prefill pod) and sets it
 * to the first target of `prefillProfile` when that profile produced one.
 */
export function writePrefillHeader(result: SchedulingResult, prefillProfile: string, headers: HeaderMutations): void {
  headers.remove(PREFILLER_HOST_PORT_HEADER);
  const target = result.profileResults.get(prefillProfile)?.targets[0];
  if (target !== undefined) headers.set(PREFILLER_HOST_PORT_HEADER, target.metadata.hostPort);
}

/** Parameters of `prefill-header-handler`. */
export const prefillHeaderHandlerParameters = z
  .object({
    /** The profile whose target is the prefill endpoint. */
    prefillProfile: z.string().min(1).default(DEFAULT_PREFILL_PROFILE),
  })
  .strict()
  .prefault({});

/** Declares `prefill-header-handler` (alias `disagg-headers-handler`): a PreRequest hook writing `x-prefiller-host-port`. */
export const prefillHeaderHandler = definePlugin({
  type: PREFILL_HEADER_HANDLER_TYPE,
  aliases: [DISAGG_HEADERS_HANDLER_TYPE],
  parameters: prefillHeaderHandlerParameters,
  create: (name, params) =>
    ({
      type: PREFILL_HEADER_HANDLER_TYPE,
      name,
      preRequest: (_ctx, _req, result, headers) => writePrefillHeader(result, params.prefillProfile, headers),
    }) satisfies PreRequestHook,
});
