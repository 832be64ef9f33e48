import { ConfigError } from '@llmd/cli';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseEntries, problemAffects } from './entries.js';
import { parseQueueingConfig, resolveQueueingConfig } from './queueing-config.js';
import { DEFAULT_SATURATION_CONFIG, parseSaturationConfig, parseSaturationEntries, resolveSaturationConfig } from './saturation-config.js';
import { DEFAULT_RETENTION_MS, parseScaleToZeroConfig, resolveScaleToZeroConfig } from './scale-to-zero-config.js';

function errorKey(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).key;
  }
  throw new Error('expected a ConfigError');
}

describe('wva-saturation-scaling-config', () => {
  const sample = {
    default: 'kvCacheThreshold: 0.80\nqueueLengthThreshold: 5\nkvSpareTrigger: 0.1\nqueueSpareTrigger: 3\nenableLimiter: true\n',
    'production-model': 'model_id: my-org/production-model\nnamespace: production\nkvCacheThreshold: 0.75\nkvSpareTrigger: 0.15\n',
    'dev-model': 'model_id: my-org/dev-model\nkvCacheThreshold: 0.90\nqueueLengthThreshold: 10\n',
  };

  it('has upstream defaults when nothing is configured', () => {
    expect(resolveSaturationConfig('any', 'ns')).toEqual(DEFAULT_SATURATION_CONFIG);
    expect(DEFAULT_SATURATION_CONFIG).toMatchObject({ kvCacheThreshold: 0.8, queueLengthThreshold: 5, kvSpareTrigger: 0.1, queueSpareTrigger: 3, scaleUpThreshold: 0.85, scaleDownBoundary: 0.7 });
  });

  it('reads the sample: the default entry, then model and model+namespace overrides inheriting the rest', () => {
    const cm = parseSaturationConfig(sample);
    expect(resolveSaturationConfig('other', 'x', cm)).toMatchObject({ kvCacheThreshold: 0.8, enableLimiter: true });
    expect(resolveSaturationConfig('my-org/production-model', 'production', cm)).toMatchObject({ kvCacheThreshold: 0.75, kvSpareTrigger: 0.15, queueLengthThreshold: 5, enableLimiter: true });
    // The namespaced override does not apply elsewhere.
    expect(resolveSaturationConfig('my-org/production-model', 'staging', cm)).toMatchObject({ kvCacheThreshold: 0.8 });
    expect(resolveSaturationConfig('my-org/dev-model', 'anywhere', cm)).toMatchObject({ kvCacheThreshold: 0.9, queueLengthThreshold: 10, queueSpareTrigger: 3 });
  });

  it('lets a ConfigMap in the workload namespace override the global one field by field', () => {
    const global = parseSaturationConfig({ default: 'kvCacheThreshold: 0.8\nqueueLengthThreshold: 5' });
    const local = parseSaturationConfig({ default: 'kvCacheThreshold: 0.7\nkvSpareTrigger: 0.2' });
    expect(resolveSaturationConfig('m', 'production', global, local)).toMatchObject({ kvCacheThreshold: 0.7, kvSpareTrigger: 0.2, queueLengthThreshold: 5 });
  });

  it('accepts quoted numbers and booleans', () => {
    const cm = parseSaturationConfig({ default: 'kvCacheThreshold: "0.85"\nenableLimiter: "true"' });
    expect(resolveSaturationConfig('m', 'n', cm)).toMatchObject({ kvCacheThreshold: 0.85, enableLimiter: true });
  });

  it.each<[string, Record<string, string>, string]>([
    ['a threshold out of range', { default: 'kvCacheThreshold: 1.5' }, 'wva-saturation-scaling-config/default.kvCacheThreshold'],
    ['a word where a number goes', { default: 'queueLengthThreshold: five' }, 'wva-saturation-scaling-config/default.queueLengthThreshold'],
    ['an unknown key', { default: 'kvCacheTreshold: 0.8' }, 'wva-saturation-scaling-config/default.kvCacheTreshold'],
    ['an override without model_id', { fast: 'kvCacheThreshold: 0.9' }, 'wva-saturation-scaling-config/fast.model_id'],
    ['model_id in the default entry', { default: 'model_id: m' }, 'wva-saturation-scaling-config/default.model_id'],
    ['a trigger above its threshold', { default: 'kvCacheThreshold: 0.5\nkvSpareTrigger: 0.6' }, 'wva-saturation-scaling-config/default.kvSpareTrigger'],
    ['scaleUpThreshold not above scaleDownBoundary', { m: 'model_id: m\nscaleDownBoundary: 0.9' }, 'wva-saturation-scaling-config/m.scaleDownBoundary'],
    ['a bad analyzer name', { default: 'analyzerName: fancy' }, 'wva-saturation-scaling-config/default.analyzerName'],
    ['YAML that is not a mapping', { default: '- 1\n- 2' }, 'wva-saturation-scaling-config/default'],
    ['YAML that does not parse', { default: 'a: [1, 2' }, 'wva-saturation-scaling-config/default'],
  ])('names the key of %s', (_what, data, key) => {
    expect(errorKey(() => parseSaturationConfig(data))).toBe(key);
  });

  it('keeps good entries when one is bad, and tells which models the bad one concerns', () => {
    const { config, problems } = parseSaturationEntries({
      default: 'kvCacheThreshold: 0.7',
      good: 'model_id: a\nqueueLengthThreshold: 8',
      bad: 'model_id: b\nqueueLengthThreshold: -1',
    });
    expect(problems.map((p) => p.error.key)).toEqual(['wva-saturation-scaling-config/bad.queueLengthThreshold']);
    expect(resolveSaturationConfig('a', 'n', config)).toMatchObject({ kvCacheThreshold: 0.7, queueLengthThreshold: 8 });
    const p = problems[0] as (typeof problems)[number];
    expect(problemAffects(p, 'b', 'n')).toBe(true);
    expect(problemAffects(p, 'a', 'n')).toBe(false);
    const broken = parseSaturationEntries({ default: 'kvCacheThreshold: 2' }).problems[0] as (typeof problems)[number];
    expect(problemAffects(broken, 'a', 'n')).toBe(true);
  });
});

describe('wva-model-scale-to-zero-config', () => {
  const data = {
    default: 'enable_scale_to_zero: true\nretention_period: "15m"',
    'llama-8b-override': 'model_id: meta/llama-3.1-8b\nretention_period: "5m"',
    'critical-model': 'model_id: production/critical-model\nenable_scale_to_zero: false',
    'llama-production': 'model_id: meta/llama-3.1-8b\nnamespace: production\nretention_period: "30m"',
  };

  it('resolves per model (namespace first) > default > WVA_SCALE_TO_ZERO > off', () => {
    const cm = parseScaleToZeroConfig(data);
    expect(resolveScaleToZeroConfig('other', 'n', false, cm)).toEqual({ enableScaleToZero: true, retentionPeriodMs: 15 * 60_000 });
    expect(resolveScaleToZeroConfig('meta/llama-3.1-8b', 'dev', false, cm)).toEqual({ enableScaleToZero: true, retentionPeriodMs: 5 * 60_000 });
    expect(resolveScaleToZeroConfig('meta/llama-3.1-8b', 'production', false, cm)).toEqual({ enableScaleToZero: true, retentionPeriodMs: 30 * 60_000 });
    expect(resolveScaleToZeroConfig('production/critical-model', 'n', false, cm).enableScaleToZero).toBe(false);
    expect(resolveScaleToZeroConfig('m', 'n', false)).toEqual({ enableScaleToZero: false, retentionPeriodMs: DEFAULT_RETENTION_MS });
    expect(resolveScaleToZeroConfig('m', 'n', true)).toEqual({ enableScaleToZero: true, retentionPeriodMs: DEFAULT_RETENTION_MS });
  });

  it.each<[string, string, string]>([
    ['retention_period: soon', 'wva-model-scale-to-zero-config/default.retention_period', 'not a duration'],
    ['enable_scale_to_zero: maybe', 'wva-model-scale-to-zero-config/default.enable_scale_to_zero', 'true or false'],
    ['retention_period: "0s"', 'wva-model-scale-to-zero-config/default.retention_period', 'positive'],
  ])('rejects %s naming the key', (text, key, words) => {
    expect(errorKey(() => parseScaleToZeroConfig({ default: text }))).toBe(key);
    expect(() => parseScaleToZeroConfig({ default: text })).toThrow(words);
  });

  it('reads bare numbers as seconds and Go durations', () => {
    expect(resolveScaleToZeroConfig('m', 'n', false, parseScaleToZeroConfig({ default: 'retention_period: 90' })).retentionPeriodMs).toBe(90_000);
    expect(resolveScaleToZeroConfig('m', 'n', false, parseScaleToZeroConfig({ default: 'retention_period: 1h30m' })).retentionPeriodMs).toBe(5_400_000);
  });
});

describe('wva-queueing-model-config', () => {
  it('has a multiplier of 3 and tuning on by default; targets and parameters per model', () => {
    const cm = parseQueueingConfig({
      default: 'sloMultiplier: 2.5',
      fast: 'model_id: m\ntargetTTFT: 200\ntargetITL: 20\nalpha: 5\nbeta: 0.1\ngamma: 10\ndelta: 0.01\nmaxBatchSize: 64',
    });
    expect(resolveQueueingConfig('x', 'n')).toMatchObject({ sloMultiplier: 3, tuningEnabled: true, perfParams: undefined });
    expect(resolveQueueingConfig('x', 'n', cm)).toMatchObject({ sloMultiplier: 2.5, targetTTFT: undefined });
    expect(resolveQueueingConfig('m', 'n', cm)).toMatchObject({ sloMultiplier: 2.5, targetTTFT: 200, targetITL: 20, perfParams: { alpha: 5, beta: 0.1, gamma: 10, delta: 0.01 }, maxBatchSize: 64 });
  });

  it.each<[string, string]>([
    ['alpha: 5\nbeta: 0.1', 'wva-queueing-model-config/default.gamma'],
    ['sloMultiplier: 1', 'wva-queueing-model-config/default.sloMultiplier'],
    ['targetTTFT: -3', 'wva-queueing-model-config/default.targetTTFT'],
    ['maxBatchSize: 2.5', 'wva-queueing-model-config/default.maxBatchSize'],
  ])('rejects %j naming the key', (text, key) => {
    expect(errorKey(() => parseQueueingConfig({ default: text }))).toBe(key);
  });
});

describe('entry parsing', () => {
  it('treats an empty entry as no settings', () => {
    const { config, problems } = parseSaturationEntries({ default: '' });
    expect(problems).toEqual([]);
    expect(config.defaults).toEqual({});
  });

  it('parses entries in a stable order with the default first', () => {
    const seen: string[] = [];
    parseEntries('cm', { b: 'model_id: b', default: '', a: 'model_id: a' }, z.object({}).strict(), (_m, _g, where) => void seen.push(where));
    expect(seen).toEqual(['cm/default', 'cm/a', 'cm/b']);
  });
});
