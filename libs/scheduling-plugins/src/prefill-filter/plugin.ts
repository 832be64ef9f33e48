import { definePlugin } from '@llmd/scheduling';
import type { Filter } from '@llmd/scheduling';
import { z } from 'zod';
import { filterByLabel } from '../by-label/plugin.js';
import { ROLE_LABEL } from '../decode-filter/plugin.js';

/** Upstream type name of the prefill role filter. */
export const PREFILL_FILTER_TYPE = 'prefill-filter';

/** Roles that can prefill (upstream HEAD; `both` is the deprecated spelling of `prefill-decode`). */
export const PREFILL_ROLES: ReadonlySet<string> = new Set([
  'prefill',
  'encode-prefill',
  'prefill-decode',
  'both',
  'encode-prefill-decode',
]);

/** Keeps endpoints that can prefill; unlabelled endpoints are dropped (they are decoders). */
export const prefillFilter = definePlugin({
  type: PREFILL_FILTER_TYPE,
  parameters: z.object({}).strict().prefault({}),
  create: (name) =>
    ({
      type: PREFILL_FILTER_TYPE,
      name,
      filter: (_ctx, _req, endpoints) => filterByLabel(endpoints, ROLE_LABEL, PREFILL_ROLES, false),
    }) satisfies Filter,
});
