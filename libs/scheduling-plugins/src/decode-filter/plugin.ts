import { definePlugin } from '@llmd/scheduling';
import type { Filter } from '@llmd/scheduling';
import { z } from 'zod';
import { filterByLabel } from '../by-label/plugin.js';

/** Upstream type name of the decode role filter. */
export const DECODE_FILTER_TYPE = 'decode-filter';

/** Pod label naming the P/D role of an endpoint. */
export const ROLE_LABEL = 'llm-d.ai/role';

/** Roles that can decode (upstream HEAD; `both` is the deprecated spelling of `prefill-decode`). */
export const DECODE_ROLES: ReadonlySet<string> = new Set(['decode', 'prefill-decode', 'both', 'encode-prefill-decode']);

/**
 * Keeps endpoints that can decode. Endpoints without a role label are kept too: an unlabelled
 * pool is an aggregated one, where every endpoint decodes.
 */
export const decodeFilter = definePlugin({
  type: DECODE_FILTER_TYPE,
  parameters: z.object({}).strict().prefault({}),
  create: (name) =>
    ({
      type: DECODE_FILTER_TYPE,
      name,
      filter: (_ctx, _req, endpoints) => filterByLabel(endpoints, ROLE_LABEL, DECODE_ROLES, true),
    }) satisfies Filter,
});
