// Strict zod shape of an EndpointPickerConfig document (upstream `apix/config/v1alpha1`).
// Optional fields accept null because upstream decodes YAML through JSON, where `key:` with no
// value is null and means "absent".
import { z } from 'zod';
import { describeValue } from './errors.js';
import { parseDuration, parseQuantity } from './units.js';

/** The apiVersions upstream accepts; the first is deprecated upstream but still loads. */
export const ENDPOINT_PICKER_API_VERSIONS = ['inference.networking.x-k8s.io/v1alpha1', 'llm-d.ai/v1alpha1'] as const;

/** An accepted apiVersion. */
export type EndpointPickerApiVersion = (typeof ENDPOINT_PICKER_API_VERSIONS)[number];

const name = z.string().min(1);

const quantity = z.unknown().transform((v, ctx): number | undefined => {
  if (v === undefined || v === null) return undefined;
  const q = typeof v === 'string' || typeof v === 'number' ? parseQuantity(v) : null;
  if (q === null || q < 0) {
    ctx.issues.push({ code: 'custom', input: v, message: `expected a non-negative quantity such as 100, 1k or 1Gi, got ${describeValue(v)}` });
    return z.NEVER;
  }
  return q;
});

const duration = z.unknown().transform((v, ctx): number | undefined => {
  if (v === undefined || v === null) return undefined;
  const ms = typeof v === 'string' ? parseDuration(v) : null;
  if (ms === null || ms < 0) {
    ctx.issues.push({ code: 'custom', input: v, message: `expected a non-negative duration such as 60s or 1m30s, got ${describeValue(v)}` });
    return z.NEVER;
  }
  return ms;
});

const pluginRef = z.strictObject({ pluginRef: name });
const optionalPluginRef = z.strictObject({ pluginRef: z.string().nullish() });

const priorityBandFields = {
  maxBytes: quantity,
  maxRequests: quantity,
  // Upstream's v1 band type carries its own queue-wait budget; accepted in both apiVersions.
  defaultRequestTTL: duration,
  fairnessPolicyRef: z.string().nullish(),
  orderingPolicyRef: z.string().nullish(),
};

/** The shape checked in phase 1; its output is normalised by `parseEndpointPickerConfig`. */
export const endpointPickerConfigSchema = z.strictObject({
  apiVersion: z.enum(ENDPOINT_PICKER_API_VERSIONS).nullish(),
  kind: z.literal('EndpointPickerConfig').nullish(),
  // Checked by hand: a list of `name[=bool]` or a map name → bool, with per-entry paths.
  featureGates: z.unknown(),
  plugins: z
    .array(z.strictObject({ name: z.string().nullish(), type: name, parameters: z.unknown() }))
    .nullish(),
  schedulingProfiles: z
    .array(
      z.strictObject({
        name,
        plugins: z.array(z.strictObject({ pluginRef: name, weight: z.number().nullish() })).nullish(),
      }),
    )
    .nullish(),
  saturationDetector: optionalPluginRef.nullish(),
  dataLayer: z
    .strictObject({
      injectDefaults: z.boolean().nullish(),
      sources: z.array(z.strictObject({ pluginRef: name, extractors: z.array(pluginRef).nullish() })).nullish(),
      discovery: pluginRef.nullish(),
      peerDiscovery: pluginRef.nullish(),
      crossReplicaSyncerPluginRef: z.string().nullish(),
      crossReplicaSyncInterval: duration,
    })
    .nullish(),
  flowControl: z
    .strictObject({
      maxBytes: quantity,
      maxRequests: quantity,
      defaultRequestTTL: duration,
      noEndpointRequestTTL: duration,
      defaultPriorityBand: z.strictObject({ priority: z.number().int().nullish(), ...priorityBandFields }).nullish(),
      defaultNegativePriorityBand: z.strictObject({ priority: z.number().int().nullish(), ...priorityBandFields }).nullish(),
      priorityBands: z.array(z.strictObject({ priority: z.number().int(), ...priorityBandFields })).nullish(),
      usageLimitPolicyPluginRef: z.string().nullish(),
      saturationDetector: optionalPluginRef.nullish(),
      enableEviction: z.boolean().nullish(),
    })
    .nullish(),
  requestHandler: z.strictObject({ parsers: z.array(pluginRef).nullish() }).nullish(),
  parser: pluginRef.nullish(),
});

/** The validated (not yet normalised) document. */
export type EndpointPickerConfigDocument = z.output<typeof endpointPickerConfigSchema>;
