import { ConfigError } from '@llmd/cli';
import { describe, expect, it } from 'vitest';
import { applyControllerConfigMap, autoscalerHelp, intervalFromConfigMap, parseAutoscalerOptions, type AutoscalerOptions } from './options.js';

function run(argv: string[], env: Record<string, string> = {}): AutoscalerOptions {
  const c = parseAutoscalerOptions(argv, env);
  if (c.kind !== 'run') throw new Error('expected run');
  return c.options;
}

function errorKey(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).key;
  }
  throw new Error('expected a ConfigError');
}

describe('options', () => {
  it('has upstream defaults', () => {
    const o = run([]);
    expect(o.intervalMs).toBe(60_000);
    expect(o.windows).toEqual({ saturation: '1m', rate: '5m', arrival: '1m' });
    expect(o.leaderElection).toEqual({ enabled: false, id: '72dd1cf1.llm-d.ai', leaseDurationMs: 60_000, renewDeadlineMs: 50_000, retryPeriodMs: 10_000 });
    expect(o.scaleFromZeroIntervalMs).toBe(100);
    expect(o.scaleFromZeroMaxConcurrency).toBe(10);
    expect(o.actuation).toBe('metrics');
    expect(o.metricsBind).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(o.healthBind).toEqual({ host: '0.0.0.0', port: 8081 });
    expect(o.configMapName).toBe('wva-variantautoscaling-config');
  });

  it('takes flags over environment variables', () => {
    const o = run(['--prometheus-url', 'https://prom:9090', '--interval', '30s', '--leader-elect', '--watch-namespace', 'llm-d'], {
      PROMETHEUS_BASE_URL: 'http://other:9090',
      GLOBAL_OPT_INTERVAL: '10s',
      WVA_SCALE_TO_ZERO: 'true',
      PROMETHEUS_BEARER_TOKEN: 'secret',
    });
    expect(o.prometheus.url).toBe('https://prom:9090');
    expect(o.prometheus.bearerToken).toBe('secret');
    expect(o.intervalMs).toBe(30_000);
    expect(o.scaleToZero).toBe(true);
    expect(o.leaderElection.enabled).toBe(true);
    expect(o.watchNamespace).toBe('llm-d');
  });

  it('fills in from the controller ConfigMap only what flags and environment left unset', () => {
    const o = run(['--interval', '20s'], { WVA_LIMITED_MODE: 'false' });
    const merged = applyControllerConfigMap(o, { GLOBAL_OPT_INTERVAL: '120s', PROMETHEUS_BASE_URL: 'http://prom:9090', WVA_LIMITED_MODE: 'true', WVA_SCALE_TO_ZERO: 'true', SOMETHING_ELSE: 'x' });
    expect(merged.intervalMs).toBe(20_000);
    expect(merged.prometheus.url).toBe('http://prom:9090');
    expect(merged.limitedMode).toBe(false);
    expect(merged.scaleToZero).toBe(true);
    expect(intervalFromConfigMap(run([]), { GLOBAL_OPT_INTERVAL: '90s' })).toBe(90_000);
    expect(intervalFromConfigMap(o, { GLOBAL_OPT_INTERVAL: '90s' })).toBe(20_000);
  });

  it.each<[string[], Record<string, string>, string]>([
    [['--prometheus-url', 'prom:9090'], {}, '--prometheus-url'],
    [['--interval', 'often'], {}, '--interval'],
    [[], { GLOBAL_OPT_INTERVAL: '0s' }, 'GLOBAL_OPT_INTERVAL'],
    [['--accelerator-capacity', 'H100:8'], {}, '--accelerator-capacity'],
    [['--metrics-bind-address', 'nope'], {}, '--metrics-bind-address'],
    [['--actuation', 'hpa'], {}, '--actuation'],
    [['--saturation-window', '1 minute'], {}, '--saturation-window'],
    [['--leader-election-renew-deadline', '70s'], {}, '--leader-election-lease-duration'],
    [['--no-such-flag'], {}, '--no-such-flag'],
    [[], { WVA_SCALE_TO_ZERO: 'yes' }, 'WVA_SCALE_TO_ZERO'],
  ])('names the culprit of %j %j', (argv, env, key) => {
    expect(errorKey(() => run(argv, env))).toBe(key);
  });

  it('names the ConfigMap key of a bad controller ConfigMap value', () => {
    expect(errorKey(() => applyControllerConfigMap(run([]), { SCALE_FROM_ZERO_ENGINE_MAX_CONCURRENCY: 'many' }))).toBe('wva-variantautoscaling-config/SCALE_FROM_ZERO_ENGINE_MAX_CONCURRENCY');
  });

  it('parses capacities, bind addresses and lists', () => {
    const o = run(['--accelerator-capacity', 'H100=8, A100-80GB=4', '--metrics-bind-address', '127.0.0.1:0', '--health-probe-bind-address', '0', '--epp-metrics-url', 'http://a:9090/metrics', 'http://b:9090/metrics']);
    expect([...o.acceleratorCapacity]).toEqual([['H100', 8], ['A100-80GB', 4]]);
    expect(o.metricsBind).toEqual({ host: '127.0.0.1', port: 0 });
    expect(o.healthBind).toBeNull();
    expect(o.eppMetricsUrls).toEqual(['http://a:9090/metrics', 'http://b:9090/metrics']);
  });

  it('defaults to direct actuation in local mode, and prints help', () => {
    expect(run(['--local-config', 'x.yaml']).actuation).toBe('direct');
    expect(parseAutoscalerOptions(['--help']).kind).toBe('help');
    expect(autoscalerHelp()).toContain('--prometheus-url <v>');
    expect(autoscalerHelp()).toContain('[PROMETHEUS_BASE_URL*]');
  });
});
