// Every flag, environment variable and YAML configuration key of the P/D sidecar, in one table.
// Names follow upstream's sidecar: the current llm-d-router `pd-sidecar` flags, plus the names of
// the 2025 llm-d-routing-sidecar that deployments still pass (`--vllm-port`, `--connector`,
// `--prefiller-use-tls`, …).
import { readFileSync } from 'node:fs';
import { ConfigError, parseDurationMs, splitArgs, type FlagArity } from '@llmd/cli';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

const intFrom = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
const bool = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]);
const duration = (key: string) => z.union([z.number(), z.string()]).transform((v) => parseDurationMs(v, key));
/** A list flag: repeated, space-separated after the flag, or comma-separated; blanks dropped. */
const list = z
  .union([z.string(), z.array(z.union([z.string(), z.number()]))])
  .transform((v) => (Array.isArray(v) ? v.map(String) : [v]).flatMap((s) => s.split(',')).map((s) => s.trim()).filter((s) => s !== ''));

/** KV connectors upstream's current sidecar accepts (`--kv-connector`). */
export const KV_CONNECTORS = ['nixlv2', 'shared-storage', 'sglang', 'mooncake', 'offloading'] as const;
/** Connectors of the 2025 sidecar's `--connector` flag. */
export const LEGACY_CONNECTORS = ['nixlv2', 'nixl', 'lmcache', 'sglang'] as const;
/** The one connector this sidecar runs. */
export const IMPLEMENTED_CONNECTOR = 'nixlv2';
/** Encoder connectors upstream accepts (`--ec-connector`); none is implemented here. */
export const EC_CONNECTORS = ['ec-example', 'ec-nixl'] as const;
/** Stages `--enable-tls` and `--tls-insecure-skip-verify` name. */
export const TLS_STAGES = ['prefiller', 'decoder', 'encoder'] as const;
/** The only InferencePool API group upstream supports. */
export const INFERENCE_POOL_GROUP = 'inference.networking.k8s.io';

/** Go crypto/tls cipher-suite names upstream's `--tls-cipher-suites` takes, with their OpenSSL names. */
export const CIPHER_SUITES: Readonly<Record<string, string>> = {
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_RSA_WITH_AES_128_GCM_SHA256: 'AES128-GCM-SHA256',
  TLS_RSA_WITH_AES_256_GCM_SHA384: 'AES256-GCM-SHA384',
};

interface FlagSpec {
  arity: FlagArity;
  schema: z.ZodType;
  help: string;
}

/** Every sidecar flag. The YAML of `--configuration`/`--configuration-file` takes the same names as keys. */
const FLAGS = {
  port: { arity: 'single', schema: intFrom(0, 65535), help: 'Port the sidecar listens on; rank r of --data-parallel-size listens on port+r (default 8000; 0 picks a free port).' },
  host: { arity: 'single', schema: z.string().min(1), help: 'Address the sidecar listens on (default 0.0.0.0).' },
  'model-server-port': { arity: 'single', schema: intFrom(1, 65535), help: 'Port of the local model server, the decode leg’s target (default 8200).' },
  'vllm-port': { arity: 'single', schema: intFrom(1, 65535), help: 'Deprecated name of --model-server-port.' },
  'model-server-host': { arity: 'single', schema: z.string().min(1), help: 'Host of the local model server (default localhost).' },
  'data-parallel-size': { arity: 'single', schema: intFrom(1, 64), help: 'Data-parallel ranks of the model server: one listener per rank on port+r, proxying to model-server-port+r (default 1).' },
  'kv-connector': { arity: 'single', schema: z.string().min(1), help: `KV protocol between prefiller and decoder: ${KV_CONNECTORS.join(', ')} (default nixlv2; only nixlv2 is implemented).` },
  connector: { arity: 'single', schema: z.string().min(1), help: `Deprecated (2025) name of --kv-connector: ${LEGACY_CONNECTORS.join(', ')}.` },
  'ec-connector': { arity: 'single', schema: z.string(), help: `Encoder connector for E/P/D: ${EC_CONNECTORS.join(', ')} (not implemented; empty skips the encoder stage).` },
  'mooncake-bootstrap-port': { arity: 'single', schema: intFrom(1, 65535), help: 'Mooncake bootstrap port on prefill pods (mooncake connector only; default 8998, env MOONCAKE_BOOTSTRAP_PORT).' },
  'p2p-connector-port': { arity: 'single', schema: intFrom(1, 65535), help: 'OffloadingConnector P2P port (offloading connector only; default 7777, env P2P_CONNECTOR_PORT).' },
  'enable-p2p-pull': { arity: 'boolean', schema: bool, help: 'Pull cached prefixes over the OffloadingConnector P2P tier (not implemented).' },
  'enable-ssrf-protection': { arity: 'boolean', schema: bool, help: 'Answer 403 when the prefill target is not in the allowlist (default false).' },
  'prefill-allowlist': { arity: 'list', schema: list, help: 'Allowed prefill targets, host:port or host (any port), comma-separated.' },
  'prefill-allowlist-file': { arity: 'single', schema: z.string().min(1), help: 'Endpoints file (the router’s format) whose address:port entries are allowed prefill targets; reloaded on change.' },
  'inference-pool': { arity: 'single', schema: z.string().min(1), help: 'InferencePool as namespace/name or name (env INFERENCE_POOL); its pods form the allowlist upstream (the Kubernetes watch is not implemented: give an allowlist).' },
  'inference-pool-namespace': { arity: 'single', schema: z.string().min(1), help: 'Deprecated (2025): namespace of the InferencePool (env INFERENCE_POOL_NAMESPACE).' },
  'inference-pool-name': { arity: 'single', schema: z.string().min(1), help: 'Deprecated (2025): name of the InferencePool (env INFERENCE_POOL_NAME).' },
  'pool-group': { arity: 'single', schema: z.string().min(1), help: `API group of the InferencePool (only ${INFERENCE_POOL_GROUP}).` },
  'enable-prefiller-sampling': { arity: 'boolean', schema: bool, help: 'Start from a random prefill target of the header’s list instead of the first (env ENABLE_PREFILLER_SAMPLING).' },
  'enable-speculative-prefill': { arity: 'boolean', schema: bool, help: 'Warm the next chat turn’s prefix after each answer (not implemented).' },
  'enable-tls': { arity: 'list', schema: list, help: `Stages whose requests use TLS: ${TLS_STAGES.join(', ')}.` },
  'tls-insecure-skip-verify': { arity: 'list', schema: list, help: `Stages whose TLS certificates are not verified: ${TLS_STAGES.join(', ')}.` },
  'prefiller-use-tls': { arity: 'boolean', schema: bool, help: 'Deprecated (2025): same as --enable-tls prefiller.' },
  'decoder-use-tls': { arity: 'boolean', schema: bool, help: 'Deprecated (2025): same as --enable-tls decoder.' },
  'prefiller-tls-insecure-skip-verify': { arity: 'boolean', schema: bool, help: 'Deprecated (2025): same as --tls-insecure-skip-verify prefiller.' },
  'decoder-tls-insecure-skip-verify': { arity: 'boolean', schema: bool, help: 'Deprecated (2025): same as --tls-insecure-skip-verify decoder.' },
  'tls-min-version': { arity: 'single', schema: z.enum(['VersionTLS12', 'VersionTLS13']), help: 'Lowest TLS version the listener accepts: VersionTLS12 (default) or VersionTLS13.' },
  'tls-cipher-suites': { arity: 'list', schema: list, help: 'TLS 1.2 cipher suites of the listener, Go names (e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256); default Node’s.' },
  'secure-serving': { arity: 'boolean', schema: bool, help: 'Serve the listener over TLS (default true).' },
  'secure-proxy': { arity: 'boolean', schema: bool, help: 'Deprecated name of --secure-serving.' },
  'cert-path': { arity: 'single', schema: z.string().min(1), help: 'Directory with tls.crt and tls.key for --secure-serving; without it a self-signed certificate is made (testing only).' },
  'max-idle-conns-per-host': { arity: 'single', schema: intFrom(1), help: 'Idle keep-alive connections kept per upstream host (default 1024).' },
  'prefill-max-retries': { arity: 'single', schema: intFrom(0, 100), help: 'Further prefill attempts after a connection failure or a 502/503/504, rotating through the header’s targets (default 0).' },
  'prefill-retry-backoff': { arity: 'single', schema: duration('--prefill-retry-backoff'), help: 'Wait between prefill attempts (default 200ms).' },
  'decode-chunk-size': { arity: 'single', schema: intFrom(0), help: 'Chunked decode token budget; 0 turns it off (chunked decode is not implemented).' },
  configuration: { arity: 'single', schema: z.string().min(1), help: 'Configuration as inline YAML with the flag names as keys (flags win).' },
  'configuration-file': { arity: 'single', schema: z.string().min(1), help: 'Configuration YAML file with the flag names as keys (flags win).' },
  tracing: { arity: 'boolean', schema: bool, help: 'OpenTelemetry tracing (accepted; no spans are exported).' },
  'metrics-port': { arity: 'single', schema: intFrom(0, 65535), help: 'Port of the sidecar’s own /metrics; 0 turns it off (default 0). The model server’s /metrics stays reachable through --port.' },
  'metrics-cert-dir': { arity: 'single', schema: z.string().min(1), help: 'Directory with tls.crt and tls.key to serve /metrics over TLS (default plain HTTP).' },
  'log-level': { arity: 'single', schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']), help: 'Log level (default info).' },
  v: { arity: 'single', schema: intFrom(0, 10), help: 'Verbosity as upstream (≥ 4 means debug).' },
  help: { arity: 'boolean', schema: bool, help: 'Print this help and exit.' },
} as const satisfies Record<string, FlagSpec>;

type FlagName = keyof typeof FLAGS;

/** Upstream logging flags (zap/klog) that are accepted and ignored: this sidecar logs JSON with pino. */
const IGNORED_FLAGS = new Set(['zap-encoder', 'zap-log-level', 'zap-devel', 'zap-stacktrace-level', 'zap-time-encoding', 'kubeconfig']);

/** Keys that only make sense on the command line, not in the YAML configuration. */
const COMMAND_LINE_ONLY = new Set<FlagName>(['configuration', 'configuration-file', 'help']);

/** TLS settings of one outgoing leg. */
export interface LegTls {
  /** Connect with https. */
  readonly enabled: boolean;
  /** Do not verify the peer's certificate. */
  readonly insecureSkipVerify: boolean;
}

/** Validated, frozen sidecar options. */
export interface SidecarOptions {
  readonly host: string;
  /** First listening port; 0 picks a free port per rank. */
  readonly port: number;
  readonly modelServerHost: string;
  readonly modelServerPort: number;
  readonly dataParallelSize: number;
  readonly kvConnector: typeof IMPLEMENTED_CONNECTOR;
  readonly enableSsrfProtection: boolean;
  /** Allowed prefill targets from the command line. */
  readonly prefillAllowlist: readonly string[];
  /** Endpoints file feeding the allowlist, or null. */
  readonly prefillAllowlistFile: string | null;
  /** InferencePool named for SSRF protection, or null. */
  readonly inferencePool: { readonly namespace: string; readonly name: string } | null;
  readonly poolGroup: string;
  readonly enablePrefillerSampling: boolean;
  readonly prefiller: LegTls;
  readonly decoder: LegTls;
  readonly secureServing: boolean;
  readonly certPath: string | null;
  readonly tlsMinVersion: 'TLSv1.2' | 'TLSv1.3';
  /** OpenSSL cipher list for the listener, or null for Node's default. */
  readonly tlsCiphers: string | null;
  readonly maxIdleConnsPerHost: number;
  readonly prefillMaxRetries: number;
  readonly prefillRetryBackoffMs: number;
  readonly tracing: boolean;
  /** Port of the sidecar's own metrics; null when off (in options built by hand, 0 picks a free port). */
  readonly metricsPort: number | null;
  readonly metricsCertDir: string | null;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

/** What {@link parseSidecarOptions} returns: help text, or options plus notes worth logging at start. */
export type SidecarCommand = { kind: 'help'; text: string } | { kind: 'run'; options: SidecarOptions; notices: string[] };

/** `--help`, generated from the flag table. */
export function sidecarHelp(): string {
  const lines = [
    'Usage: node apps/pd-sidecar/dist/main.js [flags]',
    '',
    'The llm-d P/D sidecar: a reverse proxy in front of a decode pod\'s model server. A request with',
    'x-prefiller-host-port first runs its prefill on that pod, then decodes locally with the returned',
    'kv_transfer_params (nixlv2); every other request goes straight to the model server.',
    '',
    'Flags:',
  ];
  for (const [name, spec] of Object.entries(FLAGS) as Array<[string, FlagSpec]>) {
    lines.push(`  --${name}${spec.arity === 'boolean' ? '' : ' <v>'}`.padEnd(40) + spec.help);
  }
  lines.push('', `Accepted and ignored: ${[...IGNORED_FLAGS].map((f) => `--${f}`).join(' ')}`);
  lines.push('Environment: INFERENCE_POOL, INFERENCE_POOL_NAMESPACE, INFERENCE_POOL_NAME, ENABLE_PREFILLER_SAMPLING, MOONCAKE_BOOTSTRAP_PORT, P2P_CONNECTOR_PORT.');
  lines.push('Precedence: flags > --configuration(-file) YAML > environment > defaults.');
  return lines.join('\n');
}

function spec(name: string): FlagSpec | undefined {
  return (FLAGS as Record<string, FlagSpec>)[name];
}

function validate(name: string, raw: unknown, where: string): unknown {
  const s = spec(name) as FlagSpec;
  const result = s.schema.safeParse(raw);
  if (!result.success) throw new ConfigError(where, result.error.issues[0]?.message ?? 'invalid value');
  return result.data;
}

/** Go flags take one dash (`-port 8000`); the 2025 sidecar was started that way. */
function normaliseDashes(argv: readonly string[]): string[] {
  return argv.map((a) => (/^-[a-z]/i.test(a) && !/^-\d/.test(a) ? `-${a}` : a));
}

/** Reads the YAML configuration into flag values (keys are flag names; unknown keys are errors). */
function readConfiguration(text: string, source: string): Map<string, unknown> {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (cause) {
    throw new ConfigError(source, `invalid YAML: ${(cause as Error).message}`, { cause });
  }
  const out = new Map<string, unknown>();
  if (doc === null || doc === undefined) return out;
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(source, 'expected a mapping of flag names to values');
  for (const [key, raw] of Object.entries(doc as Record<string, unknown>)) {
    if (spec(key) === undefined || COMMAND_LINE_ONLY.has(key as FlagName)) throw new ConfigError(`${source}: ${key}`, 'unknown key (keys are the flag names, see --help)');
    const value = typeof raw === 'number' && spec(key)?.arity !== 'list' ? String(raw) : raw;
    out.set(key, validate(key, value, `${source}: ${key}`));
  }
  return out;
}

function envBool(env: NodeJS.ProcessEnv, name: string): boolean | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  if (/^(1|t|true)$/i.test(raw)) return true;
  if (/^(0|f|false)$/i.test(raw)) return false;
  return undefined; // upstream ignores an unparsable value
}

function envPort(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || !/^\d+$/.test(raw)) return undefined;
  return Number(raw);
}

/** `namespace/name` or `name` (namespace `default`), as upstream's `--inference-pool`. */
export function parseInferencePool(value: string, key: string): { namespace: string; name: string } {
  const parts = value.split('/');
  if (parts.length > 2) throw new ConfigError(key, "must be in format 'namespace/name' or 'name', not multiple slashes");
  if (parts.some((p) => p.trim() === '')) throw new ConfigError(key, 'cannot have empty namespace or name');
  return parts.length === 2 ? { namespace: parts[0] as string, name: parts[1] as string } : { namespace: 'default', name: parts[0] as string };
}

/** Parses argv, the environment and the optional YAML configuration into sidecar options. */
export function parseSidecarOptions(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): SidecarCommand {
  const split = splitArgs(normaliseDashes(argv), (name) => spec(name)?.arity, IGNORED_FLAGS);
  if (split.values.get('help') === true) return { kind: 'help', text: sidecarHelp() };
  if (split.positionals.length > 0) throw new ConfigError(split.positionals[0] as string, 'unexpected argument (flags start with --)');
  const flags = new Map<string, unknown>();
  for (const [name, raw] of split.values) flags.set(name, validate(name, raw, `--${name}`));

  if (flags.has('configuration') && flags.has('configuration-file')) {
    throw new ConfigError('--configuration', 'flags --configuration and --configuration-file are mutually exclusive');
  }
  let yaml = new Map<string, unknown>();
  if (flags.has('configuration')) yaml = readConfiguration(flags.get('configuration') as string, '--configuration');
  if (flags.has('configuration-file')) {
    const path = flags.get('configuration-file') as string;
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (cause) {
      throw new ConfigError('--configuration-file', `cannot read ${path}: ${(cause as Error).message}`, { cause });
    }
    yaml = readConfiguration(text, path);
  }
  const given = (name: FlagName): boolean => flags.has(name) || yaml.has(name);
  const get = <T>(name: FlagName): T | undefined => (flags.has(name) ? flags.get(name) : yaml.get(name)) as T | undefined;
  const notices: string[] = [];
  if (split.ignoredSeen.length > 0) notices.push(`ignoring upstream logging flags: ${split.ignoredSeen.map((f) => `--${f}`).join(' ')}`);

  // Model server port: --model-server-port > --vllm-port, each flag over its YAML key.
  let modelServerPort = 8200;
  let portKey = '--model-server-port';
  if (flags.has('model-server-port')) modelServerPort = flags.get('model-server-port') as number;
  else if (flags.has('vllm-port')) [modelServerPort, portKey] = [flags.get('vllm-port') as number, '--vllm-port'];
  else if (yaml.has('model-server-port')) modelServerPort = yaml.get('model-server-port') as number;
  else if (yaml.has('vllm-port')) [modelServerPort, portKey] = [yaml.get('vllm-port') as number, '--vllm-port'];
  if (portKey === '--vllm-port') notices.push('--vllm-port is deprecated: use --model-server-port');

  const dataParallelSize = get<number>('data-parallel-size') ?? 1;
  const port = get<number>('port') ?? 8000;
  if (port !== 0 && port + dataParallelSize - 1 > 65535) throw new ConfigError('--port', `port range [${port}, ${port + dataParallelSize - 1}] exceeds maximum port value`);
  if (modelServerPort + dataParallelSize - 1 > 65535) {
    throw new ConfigError(portKey, `port range [${modelServerPort}, ${modelServerPort + dataParallelSize - 1}] exceeds maximum port value`);
  }

  // Connector: --kv-connector, or the 2025 --connector.
  if (given('kv-connector') && given('connector')) throw new ConfigError('--connector', 'give --kv-connector or its deprecated name --connector, not both');
  const connectorKey = given('connector') ? '--connector' : '--kv-connector';
  const connector = get<string>('connector') ?? get<string>('kv-connector') ?? IMPLEMENTED_CONNECTOR;
  const known: readonly string[] = connectorKey === '--connector' ? LEGACY_CONNECTORS : KV_CONNECTORS;
  if (!known.includes(connector)) throw new ConfigError(connectorKey, `must be one of: ${known.join(', ')}`);
  if (connector !== IMPLEMENTED_CONNECTOR) {
    throw new ConfigError(connectorKey, `the ${connector} connector is not implemented by this sidecar; only ${IMPLEMENTED_CONNECTOR} is (vLLM NixlConnector)`);
  }
  const ecConnector = get<string>('ec-connector') ?? '';
  if (ecConnector !== '') {
    if (!(EC_CONNECTORS as readonly string[]).includes(ecConnector)) throw new ConfigError('--ec-connector', `must be one of: ${EC_CONNECTORS.join(', ')}`);
    throw new ConfigError('--ec-connector', 'encoder disaggregation (E/P/D) is not implemented by this sidecar; leave it empty');
  }
  if (get<boolean>('enable-p2p-pull') === true) throw new ConfigError('--enable-p2p-pull', 'P2P prefix pull is not implemented by this sidecar');
  if (get<boolean>('enable-speculative-prefill') === true) throw new ConfigError('--enable-speculative-prefill', 'speculative prefill is not implemented by this sidecar');
  if ((get<number>('decode-chunk-size') ?? 0) > 0) throw new ConfigError('--decode-chunk-size', 'chunked decode is not implemented by this sidecar; use 0');
  // Accepted for compatibility: only the connectors that use them would read these.
  for (const [name, envName] of [['mooncake-bootstrap-port', 'MOONCAKE_BOOTSTRAP_PORT'], ['p2p-connector-port', 'P2P_CONNECTOR_PORT']] as const) {
    if (given(name) || envPort(env, envName) !== undefined) notices.push(`--${name} has no effect with the ${IMPLEMENTED_CONNECTOR} connector`);
  }

  // TLS per leg: --enable-tls / --tls-insecure-skip-verify stages, or the 2025 booleans.
  const stages = (name: FlagName): string[] => {
    const values = get<string[]>(name) ?? [];
    for (const s of values) if (!(TLS_STAGES as readonly string[]).includes(s)) throw new ConfigError(`--${name}`, `stages must be one of: ${TLS_STAGES.join(', ')}; got "${s}"`);
    return values;
  };
  const tlsOn = stages('enable-tls');
  const skip = stages('tls-insecure-skip-verify');
  const prefiller: LegTls = {
    enabled: tlsOn.includes('prefiller') || get<boolean>('prefiller-use-tls') === true,
    insecureSkipVerify: skip.includes('prefiller') || get<boolean>('prefiller-tls-insecure-skip-verify') === true,
  };
  const decoder: LegTls = {
    enabled: tlsOn.includes('decoder') || get<boolean>('decoder-use-tls') === true,
    insecureSkipVerify: skip.includes('decoder') || get<boolean>('decoder-tls-insecure-skip-verify') === true,
  };
  if (tlsOn.includes('encoder') || skip.includes('encoder')) notices.push('the encoder TLS stage has no effect: encoder disaggregation is not implemented');

  // Listener TLS: --secure-serving, or its deprecated name --secure-proxy.
  if (flags.has('secure-serving') && flags.has('secure-proxy') && flags.get('secure-serving') !== flags.get('secure-proxy')) {
    throw new ConfigError('--secure-proxy', 'conflicts with --secure-serving (it is the deprecated name of the same setting)');
  }
  const secureServing =
    (flags.get('secure-serving') as boolean | undefined) ??
    (flags.get('secure-proxy') as boolean | undefined) ??
    (yaml.get('secure-serving') as boolean | undefined) ??
    (yaml.get('secure-proxy') as boolean | undefined) ??
    true;
  if (given('secure-proxy')) notices.push('--secure-proxy is deprecated: use --secure-serving');
  const suites = get<string[]>('tls-cipher-suites') ?? [];
  const ciphers = suites.map((name) => {
    const openssl = CIPHER_SUITES[name];
    if (openssl === undefined) throw new ConfigError('--tls-cipher-suites', `unknown cipher suite "${name}" (known: ${Object.keys(CIPHER_SUITES).join(', ')})`);
    return openssl;
  });

  // SSRF protection: an allowlist from flags or a file; upstream's InferencePool watch is not implemented.
  let inferencePool: SidecarOptions['inferencePool'] = null;
  const poolValue = get<string>('inference-pool') ?? (env.INFERENCE_POOL || undefined);
  if (poolValue !== undefined) inferencePool = parseInferencePool(poolValue, '--inference-pool');
  else {
    const ns = get<string>('inference-pool-namespace') ?? (env.INFERENCE_POOL_NAMESPACE || undefined);
    const name = get<string>('inference-pool-name') ?? (env.INFERENCE_POOL_NAME || undefined);
    if (ns !== undefined || name !== undefined) {
      if (ns === undefined || name === undefined) throw new ConfigError(ns === undefined ? '--inference-pool-namespace' : '--inference-pool-name', 'give both the namespace and the name of the InferencePool');
      inferencePool = { namespace: ns, name };
    }
  }
  const poolGroup = get<string>('pool-group') ?? INFERENCE_POOL_GROUP;
  if (poolGroup !== INFERENCE_POOL_GROUP) throw new ConfigError('--pool-group', `must be "${INFERENCE_POOL_GROUP}", got "${poolGroup}"`);
  const prefillAllowlist = get<string[]>('prefill-allowlist') ?? [];
  const prefillAllowlistFile = get<string>('prefill-allowlist-file') ?? null;
  const enableSsrfProtection = get<boolean>('enable-ssrf-protection') ?? false;
  if (enableSsrfProtection && prefillAllowlist.length === 0 && prefillAllowlistFile === null) {
    throw new ConfigError(
      '--enable-ssrf-protection',
      inferencePool === null
        ? 'needs the allowed prefill targets: give --prefill-allowlist or --prefill-allowlist-file'
        : `the allowlist from InferencePool ${inferencePool.namespace}/${inferencePool.name} needs a Kubernetes pod watch, which this sidecar does not have yet: give --prefill-allowlist or --prefill-allowlist-file`,
    );
  }
  if (!enableSsrfProtection && (prefillAllowlist.length > 0 || prefillAllowlistFile !== null)) {
    notices.push('an allowlist is configured but --enable-ssrf-protection is off: every prefill target is accepted');
  }

  const prefillMaxRetries = get<number>('prefill-max-retries') ?? 0;
  const prefillRetryBackoffMs = get<number>('prefill-retry-backoff') ?? 200;
  if (prefillMaxRetries > 0 && prefillRetryBackoffMs <= 0) {
    throw new ConfigError('--prefill-retry-backoff', `must be positive when --prefill-max-retries > 0, got ${prefillRetryBackoffMs}ms`);
  }
  const tracing = get<boolean>('tracing') ?? false;
  if (tracing) notices.push('--tracing is accepted but this sidecar exports no spans');
  const metricsPort = get<number>('metrics-port') ?? 0;
  const verbosity = get<number>('v');

  const options: SidecarOptions = {
    host: get<string>('host') ?? '0.0.0.0',
    port,
    modelServerHost: get<string>('model-server-host') ?? 'localhost',
    modelServerPort,
    dataParallelSize,
    kvConnector: IMPLEMENTED_CONNECTOR,
    enableSsrfProtection,
    prefillAllowlist: Object.freeze([...prefillAllowlist]),
    prefillAllowlistFile,
    inferencePool: inferencePool === null ? null : Object.freeze(inferencePool),
    poolGroup,
    enablePrefillerSampling: get<boolean>('enable-prefiller-sampling') ?? envBool(env, 'ENABLE_PREFILLER_SAMPLING') ?? false,
    prefiller: Object.freeze(prefiller),
    decoder: Object.freeze(decoder),
    secureServing,
    certPath: get<string>('cert-path') ?? null,
    tlsMinVersion: get<string>('tls-min-version') === 'VersionTLS13' ? 'TLSv1.3' : 'TLSv1.2',
    tlsCiphers: ciphers.length > 0 ? ciphers.join(':') : null,
    maxIdleConnsPerHost: get<number>('max-idle-conns-per-host') ?? 1024,
    prefillMaxRetries,
    prefillRetryBackoffMs,
    tracing,
    metricsPort: metricsPort === 0 ? null : metricsPort,
    metricsCertDir: get<string>('metrics-cert-dir') ?? null,
    logLevel: get<SidecarOptions['logLevel']>('log-level') ?? (verbosity !== undefined && verbosity >= 4 ? 'debug' : 'info'),
  };
  return { kind: 'run', options: Object.freeze(options), notices };
}
