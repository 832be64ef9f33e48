// `wva-saturation-scaling-config`: the saturation analyzers' thresholds, per model.
import { ConfigError } from '@llmd/cli';
import { z } from 'zod';
import { emptyEntryConfig, parseEntries, resolveEntries, resolveWithSources, type EntryConfig, type ParsedEntries } from './entries.js';
import { boolField, boundedNumber, numberField } from './fields.js';

/** The ConfigMap's name, and the name it had before (read when the new one is absent). */
export const SATURATION_CONFIGMAP = 'wva-saturation-scaling-config';
export const SATURATION_CONFIGMAP_OLD = 'capacity-scaling-config';

/** Which saturation analyzer runs: '' is the percentage-based V1, 'saturation' the token-based V2. */
export type SaturationAnalyzerName = '' | 'saturation';

/** Saturation settings for one model. */
export interface SaturationConfig {
  /** A replica is saturated at this KV-cache usage (0..1). */
  readonly kvCacheThreshold: number;
  /** A replica is saturated at this many waiting requests. */
  readonly queueLengthThreshold: number;
  /** Scale up when the average spare KV capacity of the non-saturated replicas falls below this. */
  readonly kvSpareTrigger: number;
  /** Scale up when the average spare queue capacity falls below this. */
  readonly queueSpareTrigger: number;
  /** Limited mode: share a fixed accelerator inventory between models by priority. */
  readonly enableLimiter: boolean;
  readonly analyzerName: SaturationAnalyzerName;
  /** V2: demand / supply above which capacity is added. */
  readonly scaleUpThreshold: number;
  /** V2: demand / supply below which a replica may be removed. */
  readonly scaleDownBoundary: number;
  /** Limited mode: lower numbers are served first. */
  readonly priority: number;
}

/** Upstream's defaults (they match the router's saturation detector: queue 5, KV 0.8). */
export const DEFAULT_SATURATION_CONFIG: SaturationConfig = Object.freeze({
  kvCacheThreshold: 0.8,
  queueLengthThreshold: 5,
  kvSpareTrigger: 0.1,
  queueSpareTrigger: 3,
  enableLimiter: false,
  analyzerName: '',
  scaleUpThreshold: 0.85,
  scaleDownBoundary: 0.7,
  priority: 1,
});

const fields = z
  .object({
    kvCacheThreshold: boundedNumber(0, 1, true),
    queueLengthThreshold: boundedNumber(0, Infinity, true),
    kvSpareTrigger: boundedNumber(0, 1),
    queueSpareTrigger: boundedNumber(0, Infinity),
    enableLimiter: boolField,
    analyzerName: z.enum(['', 'saturation'], { error: 'expected "" (percentage-based) or "saturation" (token-based)' }),
    scaleUpThreshold: boundedNumber(0, 1, true),
    scaleDownBoundary: boundedNumber(0, 1, true),
    priority: numberField,
  })
  .partial()
  .strict();

/** A parsed saturation ConfigMap. */
export type SaturationConfigMap = EntryConfig<SaturationConfig>;

/**
 * Parses the ConfigMap's data entry by entry; a bad entry is a problem naming
 * `<configmap>/<entry>.<key>`. Rules between fields are checked on the settings a model ends up
 * with ({@link saturationConfigProblem}), since a namespace-local ConfigMap may set one side only.
 */
export function parseSaturationEntries(data: Readonly<Record<string, string>>, name = SATURATION_CONFIGMAP): ParsedEntries<SaturationConfig> {
  return parseEntries(name, data, fields) as ParsedEntries<SaturationConfig>;
}

/** Parses one ConfigMap on its own; throws the first problem, including rules between fields of an entry over the built-in defaults. */
export function parseSaturationConfig(data: Readonly<Record<string, string>>, name = SATURATION_CONFIGMAP): SaturationConfigMap {
  const { config, problems } = parseEntries(name, data, fields, (merged, given, where) =>
    checkCrossFields({ ...DEFAULT_SATURATION_CONFIG, ...merged } as SaturationConfig, (k) => `${where}.${given[k as keyof typeof given] !== undefined ? k : (Object.keys(given)[0] ?? k)}`),
  );
  if (problems[0]) throw problems[0].error;
  return config as SaturationConfigMap;
}

/** The first broken rule between the fields of a resolved config, naming the entry that set the field, or null. */
export function saturationConfigProblem(c: SaturationConfig, sources: ReadonlyMap<string, string>): string | null {
  try {
    checkCrossFields(c, (k) => `${sources.get(k) ?? 'default'}.${k}`);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

function checkCrossFields(c: SaturationConfig, keyOf: (field: keyof SaturationConfig) => string): void {
  if (c.kvSpareTrigger > c.kvCacheThreshold) {
    throw new ConfigError(keyOf('kvSpareTrigger'), `kvSpareTrigger (${c.kvSpareTrigger}) must not exceed kvCacheThreshold (${c.kvCacheThreshold})`);
  }
  if (c.queueSpareTrigger > c.queueLengthThreshold) {
    throw new ConfigError(keyOf('queueSpareTrigger'), `queueSpareTrigger (${c.queueSpareTrigger}) must not exceed queueLengthThreshold (${c.queueLengthThreshold})`);
  }
  if (!(c.scaleUpThreshold > c.scaleDownBoundary)) {
    throw new ConfigError(keyOf('scaleDownBoundary'), `scaleUpThreshold (${c.scaleUpThreshold}) must be greater than scaleDownBoundary (${c.scaleDownBoundary})`);
  }
}

/** The settings of one model in one namespace (global ConfigMap, then the namespace's own). */
export function resolveSaturationConfig(
  modelID: string,
  namespace: string,
  global: SaturationConfigMap = emptyEntryConfig(),
  local?: SaturationConfigMap,
): SaturationConfig {
  return resolveEntries(DEFAULT_SATURATION_CONFIG, modelID, namespace, global, local);
}

/** Like {@link resolveSaturationConfig}, with the problem of a broken rule between fields (or null). */
export function resolveSaturationChecked(
  modelID: string,
  namespace: string,
  global: SaturationConfigMap = emptyEntryConfig(),
  local?: SaturationConfigMap,
): { config: SaturationConfig; problem: string | null } {
  const { value, sources } = resolveWithSources(DEFAULT_SATURATION_CONFIG, modelID, namespace, global, local);
  return { config: value, problem: saturationConfigProblem(value, sources) };
}
