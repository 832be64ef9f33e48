import { definePlugin } from '@llmd/scheduling';
import type { Endpoint, Filter } from '@llmd/scheduling';
import { z } from 'zod';

/** Upstream type name of the label-value filter. */
export const BY_LABEL_TYPE = 'by-label';

/** A pod label's value, or undefined; own keys only, so `constructor` is not read off the prototype. */
export function readLabel(labels: Readonly<Record<string, string>>, key: string): string | undefined {
  return Object.hasOwn(labels, key) ? labels[key] : undefined;
}

/**
 * Keeps the endpoints whose `label` has one of `validValues`, plus those without the label when
 * `allowsNoLabel`. As upstream, a missing label reads as "" for the value check.
 */
export function filterByLabel(
  endpoints: readonly Endpoint[],
  label: string,
  validValues: ReadonlySet<string>,
  allowsNoLabel: boolean,
): Endpoint[] {
  return endpoints.filter((e) => {
    const value = readLabel(e.metadata.labels, label);
    return validValues.has(value ?? '') || (value === undefined && allowsNoLabel);
  });
}

/** Filters endpoints on the value of one pod label. */
export const byLabelFilter = definePlugin({
  type: BY_LABEL_TYPE,
  parameters: z
    .object({
      /** The label to check; required, since a filter on no label could only drop everything. */
      label: z.string().min(1),
      /** Values that keep an endpoint. */
      validValues: z.array(z.string()).default([]),
      /** Keep endpoints that do not have the label at all. */
      allowsNoLabel: z.boolean().default(false),
    })
    .strict(),
  create: (name, params) => {
    const validValues = new Set(params.validValues);
    return {
      type: BY_LABEL_TYPE,
      name,
      filter: (_ctx, _req, endpoints) => filterByLabel(endpoints, params.label, validValues, params.allowsNoLabel),
    } satisfies Filter;
  },
});
