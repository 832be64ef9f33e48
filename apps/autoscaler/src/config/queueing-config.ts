// `wva-queueing-model-config`: turns on the queueing-model (SLO) analyzer and sets its targets.
import { ConfigError } from '@llmd/cli';
import { z } from 'zod';
import type { PerfParams } from '../model.js';
import { emptyEntryConfig, parseEntries, resolveEntries, type EntryConfig, type ParsedEntries } from './entries.js';
import { boolField, boundedNumber } from './fields.js';

/** The ConfigMap's name: when it exists, the SLO analyzer takes priority over the saturation analyzer. */
export const QUEUEING_CONFIGMAP = 'wva-queueing-model-config';

/** Queueing-model settings for one model (times in milliseconds). */
export interface QueueingConfig {
  /** Targets inferred from idle latency × this when not given (3 ⇒ about ρ ≈ 0.67). */
  readonly sloMultiplier: number;
  /** Fit the latency-model parameters online from observed latencies. */
  readonly tuningEnabled: boolean;
  readonly targetTTFT?: number | undefined;
  readonly targetITL?: number | undefined;
  /** Configured latency-model parameters for every variant of the model (a variant's own profile wins). */
  readonly perfParams?: PerfParams | undefined;
  /** Most requests one replica runs at once, when the variant does not say. */
  readonly maxBatchSize?: number | undefined;
}

/** Defaults: multiplier 3, tuning on, no explicit targets or parameters, batch 256. */
export const DEFAULT_QUEUEING_CONFIG: QueueingConfig = Object.freeze({ sloMultiplier: 3, tuningEnabled: true });

/** Batch size assumed when neither the variant nor the ConfigMap gives one. */
export const DEFAULT_MAX_BATCH_SIZE = 256;

const fields = z
  .object({
    sloMultiplier: boundedNumber(1, Infinity, true),
    tuningEnabled: boolField,
    targetTTFT: boundedNumber(0, Infinity, true),
    targetITL: boundedNumber(0, Infinity, true),
    alpha: boundedNumber(0, Infinity),
    beta: boundedNumber(0, Infinity),
    gamma: boundedNumber(0, Infinity),
    delta: boundedNumber(0, Infinity),
    maxBatchSize: boundedNumber(1, 1_000_000).refine(Number.isInteger, 'expected a whole number'),
  })
  .partial()
  .strict();

/** The ConfigMap's fields as written. */
export type Fields = z.infer<typeof fields>;

/** A parsed queueing-model ConfigMap. */
export type QueueingConfigMap = EntryConfig<Fields>;

const PARAM_KEYS = ['alpha', 'beta', 'gamma', 'delta'] as const;

/** Parses the ConfigMap's data entry by entry; α, β, γ, δ come all four or not at all. */
export function parseQueueingEntries(data: Readonly<Record<string, string>>): ParsedEntries<Fields> {
  return parseEntries(QUEUEING_CONFIGMAP, data, fields, (_merged, f, where) => {
    const given = PARAM_KEYS.filter((k) => f[k] !== undefined);
    if (given.length > 0 && given.length < 4) {
      const missing = PARAM_KEYS.find((k) => f[k] === undefined) as string;
      throw new ConfigError(`${where}.${missing}`, 'alpha, beta, gamma and delta are given together (the latency model needs all four)');
    }
    if (f.alpha !== undefined && f.beta !== undefined && f.alpha + f.beta <= 0) throw new ConfigError(`${where}.alpha`, 'alpha + beta must be positive');
  });
}

/** Parses the ConfigMap's data; throws the first problem (errors name `<configmap>/<entry>.<key>`). */
export function parseQueueingConfig(data: Readonly<Record<string, string>>): QueueingConfigMap {
  const { config, problems } = parseQueueingEntries(data);
  if (problems[0]) throw problems[0].error;
  return config;
}

/** The settings of one model (per-model entry > default entry > built-in defaults). */
export function resolveQueueingConfig(modelID: string, namespace: string, global: QueueingConfigMap = emptyEntryConfig(), local?: QueueingConfigMap): QueueingConfig {
  const f = resolveEntries<Fields>({}, modelID, namespace, global, local);
  const perfParams =
    f.alpha !== undefined && f.beta !== undefined && f.gamma !== undefined && f.delta !== undefined
      ? { alpha: f.alpha, beta: f.beta, gamma: f.gamma, delta: f.delta }
      : undefined;
  return {
    sloMultiplier: f.sloMultiplier ?? DEFAULT_QUEUEING_CONFIG.sloMultiplier,
    tuningEnabled: f.tuningEnabled ?? DEFAULT_QUEUEING_CONFIG.tuningEnabled,
    targetTTFT: f.targetTTFT,
    targetITL: f.targetITL,
    perfParams,
    maxBatchSize: f.maxBatchSize,
  };
}
