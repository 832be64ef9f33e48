// Every flag and environment variable of the autoscaler, in one table. Precedence, as upstream:
// flag given on the command line > environment variable > key of the controller ConfigMap
// (`wva-variantautoscaling-config`) > default.
import { ConfigError, parseDurationMs, splitArgs, type FlagArity } from '@llmd/cli';
import { z } from 'zod';

const bool = z.union([z.boolean(), z.enum(['true', 'false', 'True', 'False', '1', '0']).transform((v) => v === 'true' || v === 'True' || v === '1')], {
  error: 'expected true or false',
});
const duration = (key: string) => z.string().transform((v) => parseDurationMs(v, key)).refine((ms) => ms > 0, 'expected a positive duration');
const positiveInt = z.coerce.number().int().min(1);
const url = z.string().refine((v) => /^https?:\/\/[^\s]+$/.test(v), 'expected an http:// or https:// URL');
/** `H100=8,A100=4`: accelerators per type for the limited mode. */
const capacity = z.string().transform((text, ctx) => {
  const out = new Map<string, number>();
  for (const part of text.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    const m = /^([^=\s]+)\s*=\s*(\d+)$/.exec(part);
    if (!m) {
      ctx.addIssue({ code: 'custom', message: `expected type=count pairs such as H100=8,A100=4; got "${part}"` });
      return z.NEVER;
    }
    out.set(m[1] as string, Number(m[2]));
  }
  return out;
});
/** `host:port`, `:port` (every interface) or `0` (off). */
const bindAddress = z.string().transform((v, ctx) => {
  if (v === '0') return null;
  const m = /^(.*):(\d{1,5})$/.exec(v);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) {
    ctx.addIssue({ code: 'custom', message: `expected host:port, :port or 0 (off); got "${v}"` });
    return z.NEVER;
  }
  const host = (m[1] as string).replace(/^\[(.*)\]$/, '$1');
  return { host: host === '' ? '0.0.0.0' : host, port };
});
/** A PromQL range duration: digits and a unit. */
const promWindow = z.string().regex(/^\d+(ms|s|m|h)$/, 'expected a PromQL duration such as 30s, 1m or 5m');

interface FlagSpec {
  arity: FlagArity;
  schema: z.ZodType;
  /** Environment variable and controller-ConfigMap key of the same setting, if any. */
  env?: string;
  /** True when the setting may also come from the controller ConfigMap. */
  configMap?: boolean;
  help: string;
}

/** Every flag. */
const FLAGS = {
  'prometheus-url': { arity: 'single', schema: url, env: 'PROMETHEUS_BASE_URL', configMap: true, help: 'Prometheus base URL (required unless --local-config without Prometheus).' },
  'prometheus-ca-cert-path': { arity: 'single', schema: z.string().min(1), env: 'PROMETHEUS_CA_CERT_PATH', configMap: true, help: 'PEM CA bundle to verify an https Prometheus.' },
  'prometheus-client-cert-path': { arity: 'single', schema: z.string().min(1), env: 'PROMETHEUS_CLIENT_CERT_PATH', configMap: true, help: 'Client certificate for mutual TLS with Prometheus.' },
  'prometheus-client-key-path': { arity: 'single', schema: z.string().min(1), env: 'PROMETHEUS_CLIENT_KEY_PATH', configMap: true, help: 'Client key for mutual TLS with Prometheus.' },
  'prometheus-server-name': { arity: 'single', schema: z.string().min(1), env: 'PROMETHEUS_SERVER_NAME', configMap: true, help: 'Name expected in Prometheus\'s certificate.' },
  'prometheus-tls-insecure-skip-verify': { arity: 'boolean', schema: bool, env: 'PROMETHEUS_TLS_INSECURE_SKIP_VERIFY', configMap: true, help: 'Accept any Prometheus certificate (development only).' },
  'prometheus-bearer-token': { arity: 'single', schema: z.string().min(1), env: 'PROMETHEUS_BEARER_TOKEN', configMap: true, help: 'Bearer token sent to Prometheus.' },
  'prometheus-bearer-token-file': { arity: 'single', schema: z.string().min(1), env: 'PROMETHEUS_BEARER_TOKEN_FILE', help: 'File holding the bearer token (read at start).' },
  interval: { arity: 'single', schema: duration('--interval'), env: 'GLOBAL_OPT_INTERVAL', configMap: true, help: 'Time between reconcile cycles (default 60s).' },
  'saturation-window': { arity: 'single', schema: promWindow, help: 'Peak window of the KV-cache and queue gauges (default 1m, as upstream).' },
  'rate-window': { arity: 'single', schema: promWindow, help: 'Rate window of token averages and prefix hits (default 5m, as upstream).' },
  'arrival-window': { arity: 'single', schema: promWindow, help: 'Rate window of arrivals and latencies for the queueing model (default 1m).' },
  'metrics-staleness': { arity: 'single', schema: duration('--metrics-staleness'), help: 'A replica whose newest sample is older than this is stale (default 2m).' },
  'actuation': { arity: 'single', schema: z.enum(['metrics', 'direct']), help: 'metrics (default): publish wva_desired_replicas for an HPA or KEDA; direct: also set the targets\' /scale.' },
  'scale-to-zero': { arity: 'boolean', schema: bool, env: 'WVA_SCALE_TO_ZERO', configMap: true, help: 'Allow scale to zero for models the scale-to-zero ConfigMap does not mention (default false).' },
  'limited-mode': { arity: 'boolean', schema: bool, env: 'WVA_LIMITED_MODE', configMap: true, help: 'Share --accelerator-capacity between models by priority (default false; per model with enableLimiter).' },
  'accelerator-capacity': { arity: 'single', schema: capacity, env: 'ACCELERATOR_CAPACITY', configMap: true, help: 'Accelerators per type for the limited mode, e.g. H100=8,A100=4.' },
  'scale-from-zero-interval': { arity: 'single', schema: duration('--scale-from-zero-interval'), help: 'How often the router queue of zero-replica models is checked (default 100ms).' },
  'scale-from-zero-max-concurrency': { arity: 'single', schema: positiveInt, env: 'SCALE_FROM_ZERO_ENGINE_MAX_CONCURRENCY', configMap: true, help: 'Models checked at once by scale from zero (default 10).' },
  'epp-metrics-url': { arity: 'list', schema: z.array(url), help: 'Routers\' metrics URLs read directly by scale from zero (default: ask Prometheus).' },
  'epp-metric-reader-bearer-token': { arity: 'single', schema: z.string().min(1), env: 'EPP_METRIC_READER_BEARER_TOKEN', configMap: true, help: 'Bearer token for the routers\' metrics.' },
  'flow-control-metric': { arity: 'list', schema: z.array(z.string().regex(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/, 'expected a metric name')), help: 'Router queue metric names (default inference_extension_flow_control_queue_size llm_d_epp_flow_control_queue_size).' },
  'leader-elect': { arity: 'boolean', schema: bool, env: 'LEADER_ELECT', help: 'Run leader election so only one replica acts (default false).' },
  'leader-election-id': { arity: 'single', schema: z.string().min(1), env: 'LEADER_ELECTION_ID', help: 'Name of the Lease (default 72dd1cf1.llm-d.ai).' },
  'leader-election-lease-duration': { arity: 'single', schema: duration('--leader-election-lease-duration'), env: 'LEADER_ELECTION_LEASE_DURATION', help: 'Lease duration (default 60s).' },
  'leader-election-renew-deadline': { arity: 'single', schema: duration('--leader-election-renew-deadline'), env: 'LEADER_ELECTION_RENEW_DEADLINE', help: 'Renew deadline (default 50s).' },
  'leader-election-retry-period': { arity: 'single', schema: duration('--leader-election-retry-period'), env: 'LEADER_ELECTION_RETRY_PERIOD', help: 'Retry period (default 10s).' },
  'watch-namespace': { arity: 'single', schema: z.string(), env: 'WATCH_NAMESPACE', help: 'Only VariantAutoscalings of this namespace (default: all).' },
  kubeconfig: { arity: 'single', schema: z.string().min(1), env: 'KUBECONFIG', help: 'Kubeconfig file (default: in-cluster, then ~/.kube/config).' },
  'config-namespace': { arity: 'single', schema: z.string().min(1), env: 'POD_NAMESPACE', help: 'Namespace of the global ConfigMaps and the Lease (default workload-variant-autoscaler-system).' },
  'config-map-name': { arity: 'single', schema: z.string().min(1), env: 'CONFIG_MAP_NAME', help: 'Name of the controller ConfigMap (default wva-variantautoscaling-config).' },
  'controller-instance': { arity: 'single', schema: z.string().min(1), env: 'CONTROLLER_INSTANCE', help: 'Manage only VariantAutoscalings labelled wva.llmd.ai/controller-instance=<this>; adds controller_instance to the metrics.' },
  'metrics-bind-address': { arity: 'single', schema: bindAddress, env: 'METRICS_BIND_ADDRESS', help: 'Address of GET /metrics (default :8080; 0 turns it off).' },
  'health-probe-bind-address': { arity: 'single', schema: bindAddress, env: 'HEALTH_PROBE_BIND_ADDRESS', help: 'Address of GET /healthz and /readyz (default :8081; 0 turns it off).' },
  'local-config': { arity: 'single', schema: z.string().min(1), help: 'Local mode: a YAML file of VariantAutoscalings and the simulator command per variant; the autoscaler starts and stops the servers itself.' },
  'log-level': { arity: 'single', schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']), env: 'LOG_LEVEL', help: 'Log level (default info).' },
  help: { arity: 'boolean', schema: bool, help: 'Print this help and exit.' },
} as const satisfies Record<string, FlagSpec>;

type FlagName = keyof typeof FLAGS;
const SPECS = FLAGS as Record<string, FlagSpec>;

/** Validated autoscaler options. */
export interface AutoscalerOptions {
  readonly prometheus: {
    readonly url: string | null;
    readonly caCertPath?: string | undefined;
    readonly clientCertPath?: string | undefined;
    readonly clientKeyPath?: string | undefined;
    readonly serverName?: string | undefined;
    readonly insecureSkipVerify: boolean;
    readonly bearerToken?: string | undefined;
    readonly bearerTokenFile?: string | undefined;
  };
  readonly intervalMs: number;
  readonly windows: { readonly saturation: string; readonly rate: string; readonly arrival: string };
  readonly metricsStalenessMs: number;
  readonly actuation: 'metrics' | 'direct';
  readonly scaleToZero: boolean;
  readonly limitedMode: boolean;
  readonly acceleratorCapacity: ReadonlyMap<string, number>;
  readonly scaleFromZeroIntervalMs: number;
  readonly scaleFromZeroMaxConcurrency: number;
  readonly eppMetricsUrls: readonly string[];
  readonly eppBearerToken?: string | undefined;
  readonly flowControlMetrics: readonly string[];
  readonly leaderElection: {
    readonly enabled: boolean;
    readonly id: string;
    readonly leaseDurationMs: number;
    readonly renewDeadlineMs: number;
    readonly retryPeriodMs: number;
  };
  readonly watchNamespace: string;
  readonly kubeconfig: string | null;
  readonly inCluster: boolean;
  readonly configNamespace: string;
  readonly configMapName: string;
  readonly controllerInstance?: string | undefined;
  readonly metricsBind: { readonly host: string; readonly port: number } | null;
  readonly healthBind: { readonly host: string; readonly port: number } | null;
  readonly localConfig: string | null;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Flags and environment variables that were set (the controller ConfigMap does not override them). */
  readonly explicit: ReadonlySet<string>;
}

/** What {@link parseAutoscalerOptions} returns. */
export type AutoscalerCommand = { kind: 'help'; text: string } | { kind: 'run'; options: AutoscalerOptions };

/** `--help`, from the flag table. */
export function autoscalerHelp(): string {
  const lines = [
    'Usage: node apps/autoscaler/dist/main.js [flags]',
    '',
    'The llm-d autoscaler (workload-variant-autoscaler): sizes each VariantAutoscaling from Prometheus metrics',
    'and publishes wva_desired_replicas for an HPA or KEDA; scales from zero through /scale.',
    '',
    'Flags (environment variable in brackets; * = also a key of the controller ConfigMap):',
  ];
  for (const [name, spec] of Object.entries(SPECS)) {
    const env = spec.env ? ` [${spec.env}${spec.configMap ? '*' : ''}]` : '';
    lines.push(`  --${name}${spec.arity === 'boolean' ? '' : spec.arity === 'list' ? ' <v>...' : ' <v>'}`.padEnd(44) + spec.help + env);
  }
  return lines.join('\n');
}

function validate(name: string, raw: unknown, key: string): unknown {
  const spec = SPECS[name] as FlagSpec;
  const value = spec.arity === 'list' && typeof raw === 'string' ? raw.split(/[\s,]+/).filter((x) => x !== '') : raw;
  const result = spec.schema.safeParse(value);
  if (!result.success) throw new ConfigError(key, result.error.issues[0]?.message ?? 'invalid value');
  return result.data;
}

/** Parses argv and the environment; every error names its flag or variable. */
export function parseAutoscalerOptions(argv: readonly string[], env: Readonly<Record<string, string | undefined>> = {}): AutoscalerCommand {
  const split = splitArgs(argv, (name) => SPECS[name]?.arity);
  if (split.values.get('help') === true) return { kind: 'help', text: autoscalerHelp() };
  if (split.positionals.length > 0) throw new ConfigError(split.positionals[0] as string, 'unexpected argument (flags start with --)');
  const v: Record<string, unknown> = {};
  const explicit = new Set<string>();
  for (const [name, spec] of Object.entries(SPECS)) {
    if (split.values.has(name)) {
      v[name] = validate(name, split.values.get(name), `--${name}`);
      explicit.add(name);
    } else if (spec.env && env[spec.env] !== undefined && env[spec.env] !== '') {
      let raw = env[spec.env] as string;
      if (name === 'kubeconfig') raw = raw.split(':')[0] as string;
      v[name] = validate(name, raw, spec.env);
      explicit.add(name);
    }
  }
  return { kind: 'run', options: build(v, explicit, env) };
}

function build(v: Record<string, unknown>, explicit: Set<string>, env: Readonly<Record<string, string | undefined>>): AutoscalerOptions {
  const get = <T>(name: FlagName, fallback: T): T => (v[name] === undefined ? fallback : (v[name] as T));
  const leaseDurationMs = get('leader-election-lease-duration', 60_000);
  const renewDeadlineMs = get('leader-election-renew-deadline', 50_000);
  const retryPeriodMs = get('leader-election-retry-period', 10_000);
  if (!(leaseDurationMs > renewDeadlineMs)) throw new ConfigError('--leader-election-lease-duration', 'must be longer than --leader-election-renew-deadline');
  // client-go's bound: the retry period, with its jitter, must fit in the renew deadline.
  if (!(renewDeadlineMs > 1.2 * retryPeriodMs)) throw new ConfigError('--leader-election-renew-deadline', 'must be longer than 1.2 × --leader-election-retry-period');
  if (leaseDurationMs < 1000) throw new ConfigError('--leader-election-lease-duration', 'must be at least 1s');
  const localConfig = get<string | null>('local-config', null);
  const options: AutoscalerOptions = {
    prometheus: {
      url: get<string | null>('prometheus-url', null),
      caCertPath: get<string | undefined>('prometheus-ca-cert-path', undefined),
      clientCertPath: get<string | undefined>('prometheus-client-cert-path', undefined),
      clientKeyPath: get<string | undefined>('prometheus-client-key-path', undefined),
      serverName: get<string | undefined>('prometheus-server-name', undefined),
      insecureSkipVerify: get('prometheus-tls-insecure-skip-verify', false),
      bearerToken: get<string | undefined>('prometheus-bearer-token', undefined),
      bearerTokenFile: get<string | undefined>('prometheus-bearer-token-file', undefined),
    },
    intervalMs: get('interval', 60_000),
    windows: { saturation: get('saturation-window', '1m'), rate: get('rate-window', '5m'), arrival: get('arrival-window', '1m') },
    metricsStalenessMs: get('metrics-staleness', 120_000),
    actuation: get('actuation', localConfig !== null ? 'direct' : 'metrics'),
    scaleToZero: get('scale-to-zero', false),
    limitedMode: get('limited-mode', false),
    acceleratorCapacity: get('accelerator-capacity', new Map<string, number>()),
    scaleFromZeroIntervalMs: get('scale-from-zero-interval', 100),
    scaleFromZeroMaxConcurrency: get('scale-from-zero-max-concurrency', 10),
    eppMetricsUrls: get<string[]>('epp-metrics-url', []),
    eppBearerToken: get<string | undefined>('epp-metric-reader-bearer-token', undefined),
    flowControlMetrics: get<string[]>('flow-control-metric', ['inference_extension_flow_control_queue_size', 'llm_d_epp_flow_control_queue_size']),
    leaderElection: { enabled: get('leader-elect', false), id: get('leader-election-id', '72dd1cf1.llm-d.ai'), leaseDurationMs, renewDeadlineMs, retryPeriodMs },
    watchNamespace: get('watch-namespace', ''),
    kubeconfig: get<string | null>('kubeconfig', null),
    inCluster: Boolean(env.KUBERNETES_SERVICE_HOST),
    configNamespace: get('config-namespace', 'workload-variant-autoscaler-system'),
    configMapName: get('config-map-name', 'wva-variantautoscaling-config'),
    controllerInstance: get<string | undefined>('controller-instance', undefined),
    metricsBind: v['metrics-bind-address'] === undefined ? { host: '0.0.0.0', port: 8080 } : (v['metrics-bind-address'] as { host: string; port: number } | null),
    healthBind: v['health-probe-bind-address'] === undefined ? { host: '0.0.0.0', port: 8081 } : (v['health-probe-bind-address'] as { host: string; port: number } | null),
    localConfig,
    logLevel: get('log-level', 'info'),
    explicit,
  };
  return Object.freeze(options);
}

/**
 * Applies the controller ConfigMap (`wva-variantautoscaling-config`): each key upstream defines
 * fills in its setting unless a flag or environment variable set it. Unknown keys are ignored (the
 * ConfigMap is shared with other tools); a bad value is an error naming `<configmap>/<key>`.
 */
export function applyControllerConfigMap(options: AutoscalerOptions, data: Readonly<Record<string, string>>, name = options.configMapName): AutoscalerOptions {
  const v: Record<string, unknown> = {};
  for (const [flag, spec] of Object.entries(SPECS)) {
    if (!spec.configMap || !spec.env || options.explicit.has(flag)) continue;
    const raw = data[spec.env];
    if (raw === undefined || raw === '') continue;
    v[flag] = validate(flag, raw, `${name}/${spec.env}`);
  }
  const get = <T>(flag: FlagName, current: T): T => (v[flag] === undefined ? current : (v[flag] as T));
  const p = options.prometheus;
  return Object.freeze({
    ...options,
    prometheus: {
      ...p,
      url: get('prometheus-url', p.url),
      caCertPath: get('prometheus-ca-cert-path', p.caCertPath),
      clientCertPath: get('prometheus-client-cert-path', p.clientCertPath),
      clientKeyPath: get('prometheus-client-key-path', p.clientKeyPath),
      serverName: get('prometheus-server-name', p.serverName),
      insecureSkipVerify: get('prometheus-tls-insecure-skip-verify', p.insecureSkipVerify),
      bearerToken: get('prometheus-bearer-token', p.bearerToken),
    },
    intervalMs: get('interval', options.intervalMs),
    scaleToZero: get('scale-to-zero', options.scaleToZero),
    limitedMode: get('limited-mode', options.limitedMode),
    acceleratorCapacity: get('accelerator-capacity', options.acceleratorCapacity),
    scaleFromZeroMaxConcurrency: get('scale-from-zero-max-concurrency', options.scaleFromZeroMaxConcurrency),
    eppBearerToken: get('epp-metric-reader-bearer-token', options.eppBearerToken),
  });
}

/** The mutable part of the controller ConfigMap that is re-read every cycle: the interval. */
export function intervalFromConfigMap(options: AutoscalerOptions, data: Readonly<Record<string, string>> | null): number {
  if (options.explicit.has('interval') || !data?.GLOBAL_OPT_INTERVAL) return options.intervalMs;
  return validate('interval', data.GLOBAL_OPT_INTERVAL, `${options.configMapName}/GLOBAL_OPT_INTERVAL`) as number;
}
