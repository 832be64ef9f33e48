import { definePlugin } from '@llmd/scheduling';
import type { Filter } from '@llmd/scheduling';
import { z } from 'zod';
import { readLabel } from '../by-label/plugin.js';

/** Upstream type name of the label-selector filter (HEAD); `by-label-selector` is its v0.3.0 name. */
export const LABEL_SELECTOR_FILTER_TYPE = 'label-selector-filter';

// Kubernetes label syntax (apimachinery validation): a key is an optional DNS-subdomain prefix and
// a name; a value is empty or a name. Checked at load time, as LabelSelectorAsSelector does.
const NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** True for a valid Kubernetes label key (`name` or `prefix/name`). */
export function isLabelKey(key: string): boolean {
  const parts = key.split('/');
  if (parts.length > 2) return false;
  const name = parts[parts.length - 1] as string;
  const prefix = parts.length === 2 ? (parts[0] as string) : null;
  if (prefix !== null && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) return false;
  return name.length <= 63 && NAME.test(name);
}

/** True for a valid Kubernetes label value (may be empty). */
export function isLabelValue(value: string): boolean {
  return value === '' || (value.length <= 63 && NAME.test(value));
}

const labelKey = z.string().refine(isLabelKey, { message: 'not a valid Kubernetes label key' });
const labelValue = z.string().refine(isLabelValue, { message: 'not a valid Kubernetes label value' });

/** One `matchExpressions` entry of a Kubernetes LabelSelector. */
const requirementSchema = z
  .object({
    key: labelKey,
    operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
    values: z.array(labelValue).default([]),
  })
  .strict()
  .superRefine((r, ctx) => {
    const needsValues = r.operator === 'In' || r.operator === 'NotIn';
    if (needsValues && r.values.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['values'], message: `must be non-empty for operator ${r.operator}` });
    }
    if (!needsValues && r.values.length > 0) {
      ctx.addIssue({ code: 'custom', path: ['values'], message: `must be empty for operator ${r.operator}` });
    }
  });

/** A Kubernetes LabelSelector: `matchLabels` and `matchExpressions`, all of which must hold. */
export const labelSelectorSchema = z
  .object({
    matchLabels: z.record(labelKey, labelValue).default({}),
    matchExpressions: z.array(requirementSchema).default([]),
  })
  .strict()
  .prefault({});

/** A parsed LabelSelector. */
export type LabelSelector = z.output<typeof labelSelectorSchema>;

/** A selector compiled to one predicate over label sets; an empty selector matches everything. */
export function compileLabelSelector(selector: LabelSelector): (labels: Readonly<Record<string, string>>) => boolean {
  const checks: Array<(labels: Readonly<Record<string, string>>) => boolean> = [];
  for (const [key, value] of Object.entries(selector.matchLabels)) {
    checks.push((labels) => readLabel(labels, key) === value);
  }
  for (const { key, operator, values } of selector.matchExpressions) {
    const set = new Set(values);
    switch (operator) {
      case 'In':
        checks.push((labels) => {
          const v = readLabel(labels, key);
          return v !== undefined && set.has(v);
        });
        break;
      case 'NotIn':
        // Kubernetes semantics: an object without the key satisfies NotIn.
        checks.push((labels) => {
          const v = readLabel(labels, key);
          return v === undefined || !set.has(v);
        });
        break;
      case 'Exists':
        checks.push((labels) => readLabel(labels, key) !== undefined);
        break;
      case 'DoesNotExist':
        checks.push((labels) => readLabel(labels, key) === undefined);
        break;
    }
  }
  return (labels) => checks.every((check) => check(labels));
}

/** Keeps the endpoints whose pod labels match a Kubernetes LabelSelector. */
export const labelSelectorFilter = definePlugin({
  type: LABEL_SELECTOR_FILTER_TYPE,
  aliases: ['by-label-selector'],
  parameters: labelSelectorSchema,
  create: (name, params) => {
    const matches = compileLabelSelector(params);
    return {
      type: LABEL_SELECTOR_FILTER_TYPE,
      name,
      filter: (_ctx, _req, endpoints) => endpoints.filter((e) => matches(e.metadata.labels)),
    } satisfies Filter;
  },
});
