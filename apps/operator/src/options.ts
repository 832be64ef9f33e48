// Every flag and environment variable of the operator, validated once and frozen.
import { hostname } from 'node:os';
import { ConfigError, parseDurationMs, splitArgs, type FlagArity } from '@llmd/cli';
import { z } from 'zod';

const intFrom = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
const bool = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]);
const duration = (key: string) => z.string().transform((v) => parseDurationMs(v, key));
const image = z.string().regex(/^[^\s:]+(:[^\s]+)?(@sha256:[0-9a-f]{64})?$/, 'expected an image reference such as registry/name:tag');

interface FlagSpec {
  arity: FlagArity;
  schema: z.ZodType;
  help: string;
}

/** The operator's images by default: the project's own, by package version, and an upstream vLLM. */
export const DEFAULT_IMAGES = {
  router: 'llm-d-ts/router:0.1.0',
  pdSidecar: 'llm-d-ts/pd-sidecar:0.1.0',
  modelServer: 'vllm/vllm-openai:v0.11.0',
} as const;

/** Every operator flag; names follow controller-runtime where it has the setting. */
const FLAGS = {
  kubeconfig: { arity: 'single', schema: z.string().min(1), help: 'Kubeconfig file (default $KUBECONFIG; in a pod, the in-cluster service account).' },
  'watch-namespace': { arity: 'single', schema: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'expected a namespace name'), help: 'Only reconcile ModelServices in this namespace (default: all namespaces).' },
  'leader-elect': { arity: 'boolean', schema: bool, help: 'Elect a leader on a coordination.k8s.io Lease; only the leader reconciles and reports ready (default false).' },
  'leader-election-id': { arity: 'single', schema: z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'expected a Lease name'), help: 'Name of the Lease (default llmd-operator.llm-d.ai).' },
  'leader-election-namespace': { arity: 'single', schema: z.string().min(1), help: 'Namespace of the Lease (default $POD_NAMESPACE, else the watch namespace, else default).' },
  'leader-election-lease-duration': { arity: 'single', schema: duration('--leader-election-lease-duration'), help: 'How long a standby waits after the last renewal before taking over (default 15s).' },
  'leader-election-renew-deadline': { arity: 'single', schema: duration('--leader-election-renew-deadline'), help: 'How long the leader tries to renew before it steps down and exits (default 10s).' },
  'leader-election-retry-period': { arity: 'single', schema: duration('--leader-election-retry-period'), help: 'Pause between leader-election attempts (default 2s).' },
  'metrics-port': { arity: 'single', schema: intFrom(0, 65535), help: 'Port of /metrics (Prometheus), /healthz and /readyz (default 8080; 0 picks a free port).' },
  host: { arity: 'single', schema: z.string().min(1), help: 'Address the HTTP server listens on (default 0.0.0.0).' },
  'max-concurrent-reconciles': { arity: 'single', schema: intFrom(1, 64), help: 'ModelServices reconciled at the same time; one ModelService never twice at once (default 2).' },
  'resync-period': { arity: 'single', schema: duration('--resync-period'), help: 'Reconcile every ModelService at least this often (default 10m).' },
  'router-image': { arity: 'single', schema: image, help: `Router image when a ModelService names none (default ${DEFAULT_IMAGES.router}).` },
  'pd-sidecar-image': { arity: 'single', schema: image, help: `P/D sidecar image of decode pods (default ${DEFAULT_IMAGES.pdSidecar}).` },
  'model-server-image': { arity: 'single', schema: image, help: `Engine image when a role names none (default ${DEFAULT_IMAGES.modelServer}).` },
  'log-level': { arity: 'single', schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']), help: 'Log level (default info).' },
  help: { arity: 'boolean', schema: bool, help: 'Print this help and exit.' },
} as const satisfies Record<string, FlagSpec>;

/** Validated, frozen operator options. */
export interface OperatorOptions {
  /** Kubeconfig file, or null for the in-cluster service account. */
  readonly kubeconfig: string | null;
  /** Namespace to watch, or null for all. */
  readonly watchNamespace: string | null;
  readonly leaderElection: {
    readonly enabled: boolean;
    readonly id: string;
    readonly namespace: string;
    readonly identity: string;
    readonly leaseDurationMs: number;
    readonly renewDeadlineMs: number;
    readonly retryPeriodMs: number;
  };
  readonly host: string;
  readonly metricsPort: number;
  readonly concurrency: number;
  readonly resyncPeriodMs: number;
  readonly images: { readonly router: string; readonly pdSidecar: string; readonly modelServer: string };
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

/** What {@link parseOperatorOptions} returns. */
export type OperatorCommand = { kind: 'help'; text: string } | { kind: 'run'; options: OperatorOptions };

/** `--help`, generated from the flag table. */
export function operatorHelp(): string {
  const lines = [
    'Usage: node apps/operator/dist/main.js [flags]',
    '',
    'The llm-d operator: reconciles ModelService objects (llm-d.ai/v1alpha1) into model-server Deployments,',
    'an InferencePool, a router and its routing, and VariantAutoscalings.',
    '',
    'Flags:',
  ];
  for (const [name, spec] of Object.entries(FLAGS) as [string, FlagSpec][]) lines.push(`  --${name}${spec.arity === 'boolean' ? '' : ' <v>'}`.padEnd(40) + spec.help);
  lines.push('', 'Environment: KUBECONFIG, KUBERNETES_SERVICE_HOST (in a pod), POD_NAME (leader identity), POD_NAMESPACE (Lease namespace).');
  return lines.join('\n');
}

/** Parses argv and the environment into operator options; every error names its flag. */
export function parseOperatorOptions(argv: readonly string[], env: Readonly<Record<string, string | undefined>> = process.env): OperatorCommand {
  const split = splitArgs(argv, (name) => (FLAGS as Record<string, FlagSpec>)[name]?.arity);
  if (split.values.get('help') === true) return { kind: 'help', text: operatorHelp() };
  if (split.positionals.length > 0) throw new ConfigError(split.positionals[0] as string, 'unexpected argument (flags start with --)');
  const v: Record<string, unknown> = {};
  for (const [name, raw] of split.values) {
    const result = ((FLAGS as Record<string, FlagSpec>)[name] as FlagSpec).schema.safeParse(raw);
    if (!result.success) throw new ConfigError(`--${name}`, result.error.issues[0]?.message ?? 'invalid value');
    v[name] = result.data;
  }
  const kubeconfig = (v.kubeconfig as string | undefined) ?? (env.KUBECONFIG && env.KUBECONFIG !== '' ? (env.KUBECONFIG.split(':')[0] as string) : null);
  if (kubeconfig === null && !env.KUBERNETES_SERVICE_HOST) {
    throw new ConfigError('--kubeconfig', 'no cluster to talk to: give --kubeconfig, set KUBECONFIG, or run in a pod');
  }
  const watchNamespace = (v['watch-namespace'] as string | undefined) ?? null;
  const leaseDurationMs = (v['leader-election-lease-duration'] as number | undefined) ?? 15_000;
  const renewDeadlineMs = (v['leader-election-renew-deadline'] as number | undefined) ?? 10_000;
  const retryPeriodMs = (v['leader-election-retry-period'] as number | undefined) ?? 2_000;
  if (renewDeadlineMs >= leaseDurationMs) throw new ConfigError('--leader-election-renew-deadline', 'must be shorter than --leader-election-lease-duration');
  if (retryPeriodMs >= renewDeadlineMs) throw new ConfigError('--leader-election-retry-period', 'must be shorter than --leader-election-renew-deadline');
  // client-go's bound: the retry period, with its jitter, must fit in the renew deadline.
  if (1.2 * retryPeriodMs >= renewDeadlineMs) throw new ConfigError('--leader-election-retry-period', 'must be shorter than --leader-election-renew-deadline / 1.2');
  if (leaseDurationMs < 1000) throw new ConfigError('--leader-election-lease-duration', 'must be at least 1s');
  const options: OperatorOptions = {
    kubeconfig,
    watchNamespace,
    leaderElection: Object.freeze({
      enabled: (v['leader-elect'] as boolean | undefined) ?? false,
      id: (v['leader-election-id'] as string | undefined) ?? 'llmd-operator.llm-d.ai',
      namespace: (v['leader-election-namespace'] as string | undefined) ?? env.POD_NAMESPACE ?? watchNamespace ?? 'default',
      identity: env.POD_NAME && env.POD_NAME !== '' ? env.POD_NAME : `${hostname()}_${process.pid}`,
      leaseDurationMs,
      renewDeadlineMs,
      retryPeriodMs,
    }),
    host: (v.host as string | undefined) ?? '0.0.0.0',
    metricsPort: (v['metrics-port'] as number | undefined) ?? 8080,
    concurrency: (v['max-concurrent-reconciles'] as number | undefined) ?? 2,
    resyncPeriodMs: (v['resync-period'] as number | undefined) ?? 600_000,
    images: Object.freeze({
      router: (v['router-image'] as string | undefined) ?? DEFAULT_IMAGES.router,
      pdSidecar: (v['pd-sidecar-image'] as string | undefined) ?? DEFAULT_IMAGES.pdSidecar,
      modelServer: (v['model-server-image'] as string | undefined) ?? DEFAULT_IMAGES.modelServer,
    }),
    logLevel: (v['log-level'] as OperatorOptions['logLevel'] | undefined) ?? 'info',
  };
  return { kind: 'run', options: Object.freeze(options) };
}
