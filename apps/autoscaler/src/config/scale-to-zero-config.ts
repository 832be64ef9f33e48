// `wva-model-scale-to-zero-config`: whether a model may scale to zero, and after how long idle.
import { z } from 'zod';
import { emptyEntryConfig, parseEntries, parseEntryConfig, resolveEntries, type EntryConfig, type ParsedEntries } from './entries.js';
import { boolField, durationField } from './fields.js';

/** The ConfigMap's name. */
export const SCALE_TO_ZERO_CONFIGMAP = 'wva-model-scale-to-zero-config';

/** Upstream's retention period when none is configured: 10 minutes. */
export const DEFAULT_RETENTION_MS = 10 * 60_000;

/** Scale-to-zero settings for one model. */
export interface ScaleToZeroConfig {
  readonly enableScaleToZero: boolean;
  /** How long the model must have had no finished requests before it goes to zero. */
  readonly retentionPeriodMs: number;
}

const fields = z
  .object({
    enable_scale_to_zero: boolField,
    retention_period: durationField.refine((ms) => ms > 0, 'expected a positive duration'),
  })
  .partial()
  .strict();

/** The ConfigMap's fields as written. */
export type Fields = z.infer<typeof fields>;

/** A parsed scale-to-zero ConfigMap. */
export type ScaleToZeroConfigMap = EntryConfig<Fields>;

/** Parses the ConfigMap's data entry by entry; a bad entry is a problem naming `<configmap>/<entry>.<key>`. */
export function parseScaleToZeroEntries(data: Readonly<Record<string, string>>): ParsedEntries<Fields> {
  return parseEntries(SCALE_TO_ZERO_CONFIGMAP, data, fields);
}

/** Parses the ConfigMap's data; throws the first problem. */
export function parseScaleToZeroConfig(data: Readonly<Record<string, string>>): ScaleToZeroConfigMap {
  return parseEntryConfig(SCALE_TO_ZERO_CONFIGMAP, data, fields);
}

/**
 * The settings of one model. Precedence: the model's own entry (with namespace, then without) >
 * the `default` entry > `envDefault` (`WVA_SCALE_TO_ZERO`) > off, with a 10-minute retention.
 */
export function resolveScaleToZeroConfig(
  modelID: string,
  namespace: string,
  envDefault: boolean,
  global: ScaleToZeroConfigMap = emptyEntryConfig(),
  local?: ScaleToZeroConfigMap,
): ScaleToZeroConfig {
  const f = resolveEntries<Fields>({ enable_scale_to_zero: envDefault, retention_period: DEFAULT_RETENTION_MS }, modelID, namespace, global, local);
  return { enableScaleToZero: f.enable_scale_to_zero ?? envDefault, retentionPeriodMs: f.retention_period ?? DEFAULT_RETENTION_MS };
}
