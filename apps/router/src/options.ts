import { readFileSync } from 'node:fs';
import { ConfigError, parseDurationMs, splitArgs, type FlagArity } from '@llmd/cli';
import { z } from 'zod';

const intFrom = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
const bool = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]);
const duration = (key: string) => z.union([z.number(), z.string()]).transform((v) => parseDurationMs(v, key));

interface FlagSpec {
  arity: FlagArity;
  schema: z.ZodType;
  help: string;
}

/** Every router flag, with upstream EPP names where upstream has the flag. */
const FLAGS = {
  'config-file': { arity: 'single', schema: z.string().min(1), help: 'EndpointPickerConfig YAML file (mutually exclusive with --config-text).' },
  'config-text': { arity: 'single', schema: z.string().min(1), help: 'EndpointPickerConfig YAML given inline.' },
  'endpoints-file': { arity: 'single', schema: z.string().min(1), help: 'Endpoints file (YAML or JSON) for file discovery without a config file; reloaded on change.' },
  'objectives-file': {
    arity: 'single',
    schema: z.string().min(1),
    help: 'InferenceObjective and InferenceModelRewrite manifests (YAML or JSON, several documents) for priorities and model rewrites without Kubernetes; reloaded on change.',
  },
  'validate-config-only': { arity: 'boolean', schema: bool, help: 'Load and check the configuration, print what is wrong, and exit.' },
  host: { arity: 'single', schema: z.string().min(1), help: 'Address every server listens on (default 0.0.0.0).' },
  'grpc-port': { arity: 'single', schema: intFrom(0, 65535), help: 'ext_proc gRPC port (default 9002).' },
  'grpc-health-port': { arity: 'single', schema: intFrom(0, 65535), help: 'gRPC health port (default 9003).' },
  'metrics-port': { arity: 'single', schema: intFrom(0, 65535), help: 'Prometheus metrics port, also /healthz and /readyz (default 9090).' },
  'proxy-port': { arity: 'single', schema: intFrom(0, 65535), help: 'Port of the standalone OpenAI-compatible proxy (off unless given).' },
  'refresh-metrics-interval': { arity: 'single', schema: duration('--refresh-metrics-interval'), help: 'How often each endpoint is scraped (default 50ms; minimum 10ms).' },
  'metrics-staleness-threshold': { arity: 'single', schema: duration('--metrics-staleness-threshold'), help: 'Age after which an endpoint’s metrics count as stale (default 2s).' },
  'secure-serving': { arity: 'boolean', schema: bool, help: 'Serve ext_proc over TLS (default true; self-signed unless --cert-path).' },
  'cert-path': { arity: 'single', schema: z.string().min(1), help: 'Directory with tls.crt and tls.key for --secure-serving.' },
  'health-checking': { arity: 'boolean', schema: bool, help: 'Also serve gRPC health on the ext_proc port.' },
  'pool-name': { arity: 'single', schema: z.string().min(1), help: 'InferencePool to serve (Kubernetes discovery).' },
  'pool-namespace': { arity: 'single', schema: z.string().min(1), help: 'Namespace of the InferencePool (default $NAMESPACE, then $POD_NAMESPACE, then "default").' },
  'pool-group': { arity: 'single', schema: z.enum(['inference.networking.k8s.io', 'inference.networking.x-k8s.io']), help: 'API group of the InferencePool: inference.networking.k8s.io (v1, default) or inference.networking.x-k8s.io (v1alpha2).' },
  kubeconfig: { arity: 'single', schema: z.string().min(1), help: 'Kubeconfig file (default $KUBECONFIG, then the in-cluster service account, then ~/.kube/config).' },
  'kube-context': { arity: 'single', schema: z.string().min(1), help: 'Context of the kubeconfig to use (default its current context).' },
  'ha-enable-leader-election': { arity: 'boolean', schema: bool, help: 'Elect a leader among router replicas on a coordination.k8s.io Lease; only the leader reports ready.' },
  'leader-elect-lease-duration': { arity: 'single', schema: duration('--leader-elect-lease-duration'), help: 'How long a standby waits after the last renewal before taking the lease (default 15s).' },
  'leader-elect-renew-deadline': { arity: 'single', schema: duration('--leader-elect-renew-deadline'), help: 'How long the leader tries to renew before it steps down (default 10s).' },
  'leader-elect-retry-period': { arity: 'single', schema: duration('--leader-elect-retry-period'), help: 'Pause between leader-election attempts (default 2s).' },
  'emit-endpoint-scores': { arity: 'boolean', schema: bool, help: 'Add the endpoints’ scores to the ext_proc dynamic metadata.' },
  'disable-endpoint-subset-filter': { arity: 'boolean', schema: bool, help: 'Ignore the proxy’s subset hint.' },
  'log-level': { arity: 'single', schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']), help: 'Log level (default info).' },
  v: { arity: 'single', schema: intFrom(0, 10), help: 'Verbosity as upstream (≥ 4 means debug).' },
  seed: { arity: 'single', schema: intFrom(0), help: 'Seed of the random tie-breaking (default: random).' },
  help: { arity: 'boolean', schema: bool, help: 'Print this help and exit.' },
} as const satisfies Record<string, FlagSpec>;

/** Upstream EPP flags accepted for compatibility whose behaviour this router does not have (logged, then ignored). */
const IGNORED_FLAGS = new Set([
  'zap-encoder', 'zap-log-level', 'zap-devel', 'tracing', 'enable-pprof', 'metrics-endpoint-auth', 'enable-cert-reload',
  'tls-min-version', 'tls-cipher-suites', 'grpc-max-recv-msg-size', 'grpc-max-send-msg-size', 'enable-grpc-stream-metrics',
  'refresh-prometheus-metrics-interval', 'allow-experimental-plugins', 'drain-timeout', 'metrics-client-ca-file', 'metrics-cert-dir',
]);

/** Validated, frozen router options. */
export interface RouterOptions {
  configText: string | null;
  configSource: string;
  endpointsFile: string | null;
  /** `--objectives-file`: InferenceObjective/InferenceModelRewrite manifests read into the policy datastore. */
  objectivesFile: string | null;
  validateConfigOnly: boolean;
  host: string;
  grpcPort: number;
  grpcHealthPort: number;
  metricsPort: number;
  proxyPort: number | null;
  refreshMetricsIntervalMs: number;
  metricsStalenessThresholdMs: number;
  secureServing: boolean;
  certPath: string | null;
  healthChecking: boolean;
  poolName: string | null;
  poolNamespace: string;
  poolGroup: string;
  /** Kubeconfig file: `--kubeconfig`, else the first file of `$KUBECONFIG`; null for in-cluster or ~/.kube/config. */
  kubeconfig: string | null;
  kubeContext: string | null;
  /** The API server a pod reaches (`$KUBERNETES_SERVICE_HOST`/`_PORT`), for the in-cluster configuration. */
  inCluster: { host: string; port: string } | null;
  leaderElection: boolean;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  emitEndpointScores: boolean;
  disableEndpointSubsetFilter: boolean;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  seed: number | null;
  podName: string | null;
}

/** What `parseRouterOptions` returns. */
export type RouterCommand = { kind: 'help'; text: string } | { kind: 'run'; options: RouterOptions; ignoredFlags: string[] };

/** `--help`, generated from the flag table. */
export function routerHelp(): string {
  const lines = ['Usage: node apps/router/dist/main.js [flags]', '', 'The llm-d router: Envoy ext_proc endpoint picker and standalone OpenAI proxy.', '', 'Flags:'];
  for (const [name, spec] of Object.entries(FLAGS) as Array<[string, FlagSpec]>) {
    lines.push(`  --${name}${spec.arity === 'boolean' ? '' : ' <v>'}`.padEnd(40) + spec.help);
  }
  lines.push('', `Accepted and ignored: ${[...IGNORED_FLAGS].map((f) => `--${f}`).join(' ')}`);
  lines.push('Environment: NAMESPACE or POD_NAMESPACE (pool namespace), POD_NAME (leader identity), KUBECONFIG,');
  lines.push('  KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT (in-cluster configuration).');
  return lines.join('\n');
}

/** Parses argv and the environment into router options. */
export function parseRouterOptions(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): RouterCommand {
  const split = splitArgs(argv, (name) => (FLAGS as Record<string, FlagSpec>)[name]?.arity, IGNORED_FLAGS);
  if (split.values.get('help') === true) return { kind: 'help', text: routerHelp() };
  if (split.positionals.length > 0) throw new ConfigError(split.positionals[0] as string, 'unexpected argument (flags start with --)');
  const v: Record<string, unknown> = {};
  for (const [name, raw] of split.values) {
    const result = ((FLAGS as Record<string, FlagSpec>)[name] as FlagSpec).schema.safeParse(raw);
    if (!result.success) throw new ConfigError(`--${name}`, result.error.issues[0]?.message ?? 'invalid value');
    v[name] = result.data;
  }
  if (v['config-file'] !== undefined && v['config-text'] !== undefined) {
    throw new ConfigError('--config-file', 'give either --config-file or --config-text, not both');
  }
  let configText: string | null = (v['config-text'] as string | undefined) ?? null;
  let configSource = '--config-text';
  if (v['config-file'] !== undefined) {
    configSource = v['config-file'] as string;
    try {
      configText = readFileSync(configSource, 'utf8');
    } catch (cause) {
      throw new ConfigError('--config-file', `cannot read ${configSource}: ${(cause as Error).message}`, { cause });
    }
  }
  checkLeaseTimings(v);
  const verbosity = v.v as number | undefined;
  const options: RouterOptions = {
    configText,
    configSource,
    endpointsFile: (v['endpoints-file'] as string | undefined) ?? null,
    objectivesFile: (v['objectives-file'] as string | undefined) ?? null,
    validateConfigOnly: (v['validate-config-only'] as boolean | undefined) ?? false,
    host: (v.host as string | undefined) ?? '0.0.0.0',
    grpcPort: (v['grpc-port'] as number | undefined) ?? 9002,
    grpcHealthPort: (v['grpc-health-port'] as number | undefined) ?? 9003,
    metricsPort: (v['metrics-port'] as number | undefined) ?? 9090,
    proxyPort: (v['proxy-port'] as number | undefined) ?? null,
    refreshMetricsIntervalMs: Math.max(10, (v['refresh-metrics-interval'] as number | undefined) ?? 50),
    metricsStalenessThresholdMs: (v['metrics-staleness-threshold'] as number | undefined) ?? 2000,
    secureServing: (v['secure-serving'] as boolean | undefined) ?? true,
    certPath: (v['cert-path'] as string | undefined) ?? null,
    healthChecking: (v['health-checking'] as boolean | undefined) ?? false,
    poolName: (v['pool-name'] as string | undefined) ?? null,
    poolNamespace: (v['pool-namespace'] as string | undefined) ?? (env.NAMESPACE || env.POD_NAMESPACE || 'default'),
    poolGroup: (v['pool-group'] as string | undefined) ?? 'inference.networking.k8s.io',
    kubeconfig: (v.kubeconfig as string | undefined) ?? (env.KUBECONFIG?.split(':').find((f) => f !== '') || null),
    kubeContext: (v['kube-context'] as string | undefined) ?? null,
    inCluster: env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT ? { host: env.KUBERNETES_SERVICE_HOST, port: env.KUBERNETES_SERVICE_PORT } : null,
    leaderElection: (v['ha-enable-leader-election'] as boolean | undefined) ?? false,
    leaseDurationMs: (v['leader-elect-lease-duration'] as number | undefined) ?? 15_000,
    renewDeadlineMs: (v['leader-elect-renew-deadline'] as number | undefined) ?? 10_000,
    retryPeriodMs: (v['leader-elect-retry-period'] as number | undefined) ?? 2_000,
    emitEndpointScores: (v['emit-endpoint-scores'] as boolean | undefined) ?? false,
    disableEndpointSubsetFilter: (v['disable-endpoint-subset-filter'] as boolean | undefined) ?? false,
    logLevel: (v['log-level'] as RouterOptions['logLevel'] | undefined) ?? (verbosity !== undefined && verbosity >= 4 ? 'debug' : 'info'),
    seed: (v.seed as number | undefined) ?? null,
    podName: env.POD_NAME || null,
  };
  return { kind: 'run', options: Object.freeze(options), ignoredFlags: split.ignoredSeen };
}

/** Leader-election timings that cannot work are refused up front (the same rules as client-go's). */
function checkLeaseTimings(v: Record<string, unknown>): void {
  const lease = (v['leader-elect-lease-duration'] as number | undefined) ?? 15_000;
  const renew = (v['leader-elect-renew-deadline'] as number | undefined) ?? 10_000;
  const retry = (v['leader-elect-retry-period'] as number | undefined) ?? 2_000;
  if (lease < 1000) throw new ConfigError('--leader-elect-lease-duration', 'must be at least 1s (a Lease counts whole seconds)');
  if (retry <= 0) throw new ConfigError('--leader-elect-retry-period', 'must be positive');
  if (lease <= renew) throw new ConfigError('--leader-elect-lease-duration', `must be longer than --leader-elect-renew-deadline (${renew}ms)`);
  if (renew <= 1.2 * retry) throw new ConfigError('--leader-elect-renew-deadline', `must be longer than 1.2 × --leader-elect-retry-period (${retry}ms)`);
}
